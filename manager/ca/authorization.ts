import { Metadata, ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { decideAccess, type AuthorizationRules, type RevocationCheck } from './authorization-rules';
import { identityFromPeerCertificate, type NodeIdentity } from '../../proto/runtime/tls/identity';

/** Any server call: handlers' call objects and interceptors' alike. */
interface CallWithAuthContext {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

/**
 * The caller's identity, if it presented a certificate that verified against
 * the cluster CA: grpc-js leaves sslPeerCertificate unset for any other.
 */
export function callerIdentity(call: CallWithAuthContext): NodeIdentity | undefined {
  return identityFromPeerCertificate(call.getAuthContext()?.sslPeerCertificate);
}

/**
 * Refuses each call its rules do not allow, before the handler sees it, and every call
 * made with a revoked certificate: TLS knows nothing of revocation, so it is checked
 * per call (calls on a connection opened before the revocation included).
 */
export function authorizationInterceptor(rules: AuthorizationRules, revocation?: RevocationCheck): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const denial = decideAccess(rules, method.path, callerIdentity(call), revocation);
            if (denial) call.sendStatus({ ...denial, metadata: new Metadata() });
            else nextMetadata(metadata);
          },
        });
      },
    });
}
