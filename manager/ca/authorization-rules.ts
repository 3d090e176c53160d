import { status } from '@grpc/grpc-js';
import type { NodeIdentity, NodeRole } from '../../proto/runtime/tls/identity';

/**
 * Who may call what. A key ending in '/' or '.' is a prefix
 * ('/trellis.v1.Raft/', '/grpc.reflection.'); any other key is one exact
 * method path, and wins over every prefix.
 */
export type AuthorizationRules = Readonly<Record<string, 'anyone' | readonly NodeRole[]>>;

export interface Denial {
  code: status.UNAUTHENTICATED | status.PERMISSION_DENIED;
  details: string;
}

function isPrefix(key: string): boolean {
  return key.endsWith('/') || key.endsWith('.');
}

function ruleFor(rules: AuthorizationRules, path: string): AuthorizationRules[string] | undefined {
  if (Object.hasOwn(rules, path)) return rules[path];
  const longestPrefix = Object.keys(rules)
    .filter((key) => isPrefix(key) && path.startsWith(key))
    .sort((a, b) => b.length - a.length)[0];
  return longestPrefix === undefined ? undefined : rules[longestPrefix];
}

/** Why a node's certificates are revoked, or undefined when they are not. */
export type RevocationCheck = (nodeId: string) => { reason: string } | undefined;

/** What a caller holding a revoked certificate is told: the reason, and the way back in. */
export function revokedDenial(nodeId: string, reason: string): Denial {
  return {
    code: status.UNAUTHENTICATED,
    details: `this certificate's node ${nodeId} is revoked (${reason}); a node joins again only with a join token and an empty state directory`,
  };
}

/**
 * Why the call is refused, or undefined when it may go ahead. Unknown paths are refused.
 * A revoked certificate counts on no path that needs one; on an open path it is ignored.
 */
export function decideAccess(
  rules: AuthorizationRules,
  path: string,
  caller: NodeIdentity | undefined,
  revocation: RevocationCheck = () => undefined,
): Denial | undefined {
  const rule = ruleFor(rules, path);
  if (rule === undefined) return { code: status.PERMISSION_DENIED, details: `no authorization rule covers ${path}` };
  if (rule === 'anyone') return undefined;
  if (caller === undefined) {
    return {
      code: status.UNAUTHENTICATED,
      details: "this call needs a client certificate issued by the cluster CA (the CLI's --tls-dir; an agent's --join-token)",
    };
  }
  const revoked = revocation(caller.nodeId);
  if (revoked) return revokedDenial(caller.nodeId, revoked.reason);
  if (rule.includes(caller.role)) return undefined;
  return { code: status.PERMISSION_DENIED, details: `${path} is open to ${rule.join(', ')}; this certificate's role is ${caller.role}` };
}
