import type { PeerCertificate } from 'node:tls';

/*
 * A node's identity as a TLS peer presents it, read from the subject Node has already
 * parsed: no certificate library, so a client (the CLI) can check a manager's role cheaply.
 */

export const NODE_ROLES = ['trellis-manager', 'trellis-worker', 'trellis-admin'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** Who a certificate speaks for: CN=nodeId, OU=role, O=clusterId. */
export interface NodeIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

export function isNodeRole(value: string): value is NodeRole {
  return (NODE_ROLES as readonly string[]).includes(value);
}

/** Node gives a repeated subject field as an array; a Trellis certificate has each once. */
function single(field: string | string[] | undefined): string | undefined {
  return Array.isArray(field) ? (field.length === 1 ? field[0] : undefined) : field;
}

/**
 * The identity in a TLS peer's certificate, or undefined when it names none.
 * The subject is optional because Node hands over `{}` when the peer sent no certificate.
 */
export function identityFromPeerCertificate(cert: { subject?: PeerCertificate['subject'] } | undefined): NodeIdentity | undefined {
  const subject = cert?.subject;
  const nodeId = single(subject?.CN);
  const role = single(subject?.OU);
  const clusterId = single(subject?.O);
  if (!nodeId || !clusterId || role === undefined || !isNodeRole(role)) return undefined;
  return { nodeId, role, clusterId };
}
