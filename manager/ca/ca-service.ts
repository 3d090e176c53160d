import type { CertificateAuthorityServer, NodeCertificate } from '../../proto/gen/trellis/v1/ca';
import { JoinTokenError, roleForToken, type NodeIdentity } from '../../proto/runtime/tls';
import { fromStoreError, serviceError } from '../api/status';
import { unary, type Outcome } from '../api/unary';
import type { ClusterState } from '../cluster/cluster-state';
import type { ClusterKey, ClusterSecrets } from '../secrets/cluster-key';
import { newId } from '../ids';
import { callerIdentity } from './authorization';
import { issueCertificate } from './issue';
import { DEFAULT_JOINS_PER_MINUTE, IssueRateLimiter } from './issue-rate';

export { DEFAULT_JOINS_PER_MINUTE };
import { issuedRecord } from './issued-record';
import { revokedError } from './revoked';
import { chainPemOf, trustBundlePem } from './root-rotation';

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
    return { certificatePem, caCertificatePem: trustBundlePem(security), chainPem: chainPemOf(security), nodeId: identity.nodeId, role: identity.role };
  } catch (error) {
    return serviceError('INVALID_ARGUMENT', 'csr_pem', `csr_pem: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Signs, then records the certificate in the store before handing it out: a certificate
 * the cluster cannot account for (no quorum to record it) is not issued. A manager renewing
 * its own names its Raft `memberId`, when that is not its certificate's node id.
 */
export async function signAndRecord(
  state: Pick<ClusterState, 'propose'>,
  security: ClusterSecrets,
  csrPem: string,
  identity: NodeIdentity,
  requestedBy: string,
  memberId?: string,
): Promise<Outcome<NodeCertificate>> {
  const issued = await signNodeCertificate(security, csrPem, identity);
  if (issued instanceof Error) return issued;
  const record = issuedRecord(issued.certificatePem, requestedBy, security.caCertPem);
  const certificate = memberId === undefined || memberId === identity.nodeId ? record : { ...record, memberId };
  const recorded = await state.propose({ type: 'recordCertificate', certificate });
  return recorded.ok ? issued : fromStoreError(recorded.error);
}

/** The CLI's certificate is renewed only when asked (`trellis cluster admin-cert --renew`), so it lives a year. */
export const ADMIN_CERT_VALIDITY_SECONDS = 365 * 24 * 3600;

/**
 * The CA service. Tokens are checked against the replicated secrets after a read
 * barrier, so a token rotated through any manager is refused by every one.
 */
export function certificateAuthorityService(state: ClusterState, clusterKey: ClusterKey, joinsPerMinute = DEFAULT_JOINS_PER_MINUTE): CertificateAuthorityServer {
  const joins = new IssueRateLimiter(joinsPerMinute);
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
          caCertPem: trustBundlePem(secured),
          workerSecret: secured.joinSecrets.worker,
          managerSecret: secured.joinSecrets.manager,
        });
      } catch (error) {
        if (error instanceof JoinTokenError) return serviceError('UNAUTHENTICATED', 'join_token', `join_token: ${error.message}`);
        throw error;
      }
      const kind = role === 'trellis-worker' ? 'worker' : 'manager';
      // Keyed by the secret too, so a rotated token starts afresh.
      const waitMs = joins.take(`${kind}:${secured.joinSecrets[kind]}`, Date.now());
      if (waitMs !== undefined) {
        return serviceError(
          'RESOURCE_EXHAUSTED',
          'join_token',
          `join_token: this manager issues at most ${joinsPerMinute} certificates a minute per join token; retry in ${Math.ceil(waitMs / 1000)} s`,
        );
      }
      return signAndRecord(state, secured, request.csrPem, { nodeId: newId(), role, clusterId: secured.clusterId }, `${kind} join token`);
    }),
    renewNodeCertificate: unary(async (request, call) => {
      const identity = callerIdentity(call);
      if (!identity) return serviceError('UNAUTHENTICATED', '', 'renewal needs the certificate being renewed');
      const secured = await security();
      if (secured instanceof Error) return secured;
      // After the read barrier: a node removed through any manager is refused by every one.
      const revoked = revokedError(state.store, identity.nodeId);
      if (revoked) return revoked;
      // The same identity, so the old certificate stays valid until it expires (nothing revokes it).
      if (identity.role === 'trellis-admin') {
        const admin = { ...secured, certValiditySeconds: ADMIN_CERT_VALIDITY_SECONDS };
        return signAndRecord(state, admin, request.csrPem, identity, 'trellis cluster admin-cert --renew');
      }
      return signAndRecord(state, secured, request.csrPem, identity, 'renewal by its own certificate');
    }),
  };
}
