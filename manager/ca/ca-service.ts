import type { CertificateAuthorityServer, NodeCertificate } from '../../proto/gen/trellis/v1/ca';
import { JoinTokenError, roleForToken, type NodeIdentity } from '../../proto/runtime/tls';
import { serviceError } from '../api/status';
import { unary, type Outcome } from '../api/unary';
import type { ClusterState } from '../cluster/cluster-state';
import type { ClusterKey, ClusterSecrets } from '../secrets/cluster-key';
import { newId } from '../ids';
import { callerIdentity } from './authorization';
import { issueCertificate } from './issue';

/** Signs `csrPem` for `identity` with the cluster CA; a request that does not verify is the caller's error. */
export async function signNodeCertificate(security: ClusterSecrets, csrPem: string, identity: NodeIdentity): Promise<Outcome<NodeCertificate>> {
  try {
    const certificatePem = await issueCertificate({
      ca: { certPem: security.caCertPem, keyPem: security.caKeyPem },
      csrPem,
      identity,
      validitySeconds: security.certValiditySeconds,
      now: new Date(),
    });
    return { certificatePem, caCertificatePem: security.caCertPem, nodeId: identity.nodeId, role: identity.role };
  } catch (error) {
    return serviceError('INVALID_ARGUMENT', 'csr_pem', `csr_pem: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The CA service. Tokens are checked against the replicated secrets after a read
 * barrier, so a token rotated through any manager is refused by every one.
 */
export function certificateAuthorityService(state: ClusterState, clusterKey: ClusterKey): CertificateAuthorityServer {
  async function security(): Promise<Outcome<ClusterSecrets>> {
    await state.readBarrier();
    const sealed = state.store.security();
    return sealed ? clusterKey.openSecrets(sealed) : serviceError('FAILED_PRECONDITION', '', 'this cluster was created without a CA');
  }
  return {
    issueNodeCertificate: unary(async (request) => {
      const secured = await security();
      if (secured instanceof Error) return secured;
      let role;
      try {
        role = roleForToken(request.joinToken, {
          caCertPem: secured.caCertPem,
          workerSecret: secured.joinSecrets.worker,
          managerSecret: secured.joinSecrets.manager,
        });
      } catch (error) {
        if (error instanceof JoinTokenError) return serviceError('UNAUTHENTICATED', 'join_token', `join_token: ${error.message}`);
        throw error;
      }
      return signNodeCertificate(secured, request.csrPem, { nodeId: newId(), role, clusterId: secured.clusterId });
    }),
    renewNodeCertificate: unary(async (request, call) => {
      const identity = callerIdentity(call);
      if (!identity) return serviceError('UNAUTHENTICATED', '', 'renewal needs the certificate being renewed');
      const secured = await security();
      if (secured instanceof Error) return secured;
      return signNodeCertificate(secured, request.csrPem, identity);
    }),
  };
}
