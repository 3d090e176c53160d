import type { RootCaHolder, RootCaStatus } from '../../proto/gen/trellis/v1/control';
import { caDigest } from '../../proto/runtime/tls/join-token';
import { validity } from '../../proto/runtime/tls/identity';
import { newId } from '../ids';
import type { Logger } from 'pino';
import type { ClusterKey, ClusterSecrets } from '../secrets/cluster-key';
import type { ApplyResult, ClusterSecurityRecord, FinishRootRotation, RotateRootCa, Store } from '../store';
import { createRootCa, crossSign } from './root-ca';

/*
 * A root CA rotation, after Swarm's: the new root signs from the start, and is
 * cross-signed by the old key; every certificate it signs is presented with that
 * cross-signed copy, so a peer still trusting only the old root accepts it. Nodes
 * trust both roots meanwhile and renew onto the new one at once; when every node
 * and manager holds a certificate from it, the old root is trusted no more.
 */

/** The roots to trust: the signing root first, then, during a rotation, the old one. */
export function trustBundlePem(security: Pick<ClusterSecurityRecord, 'caCertPem' | 'rotation'>): string {
  const previous = security.rotation?.previousCaCertPem;
  return previous ? `${security.caCertPem.trim()}\n${previous.trim()}\n` : security.caCertPem;
}

/** What to present after a certificate the signing root signed: the cross-signed root during a rotation. */
export function chainPemOf(security: Pick<ClusterSecurityRecord, 'rotation'>): string {
  return security.rotation?.crossSignedCaPem ?? '';
}

/** The command that starts a rotation away from `security`'s root (the proposer holds the old key, which cross-signs). */
export async function newRootRotation(security: ClusterSecrets, clusterKey: ClusterKey): Promise<RotateRootCa> {
  const root = await createRootCa({ clusterId: security.clusterId, commonName: `trellis-root-ca-${newId().slice(0, 8)}` });
  const crossSignedCaPem = await crossSign(root.certPem, { certPem: security.caCertPem, keyPem: security.caKeyPem });
  return { type: 'rotateRootCa', caCertPem: root.certPem, caKeySealed: clusterKey.sealCaKey(security.clusterId, root.keyPem), crossSignedCaPem };
}

/** Every node and manager, and whether its latest recorded certificate comes from the signing root. */
export function rootCaStatus(store: Store, security: ClusterSecurityRecord, managerIds: readonly string[]): RootCaStatus {
  const digest = caDigest(security.caCertPem);
  const holder = (id: string, name: string, kind: 'node' | 'manager'): RootCaHolder => {
    const issued = kind === 'manager' ? store.managerCertificate(id) : store.issuedCertificate(id);
    return { id, name, kind, onCurrentRoot: issued?.caDigest === digest, certificateSerial: issued?.serial ?? '' };
  };
  return {
    caDigest: digest,
    notAfter: validity(security.caCertPem).notAfter.toISOString(),
    rotating: security.rotation !== undefined,
    previousCaDigest: security.rotation ? caDigest(security.rotation.previousCaCertPem) : '',
    holders: [
      ...[...managerIds].sort().map((id) => holder(id, '', 'manager')),
      ...store.nodes().map((node) => holder(node.id, node.name, 'node')),
    ],
    adminCertificate: undefined,
  };
}

/** What the finisher needs of the cluster: the store, leadership, membership and the log. */
export interface RotationCluster {
  readonly store: Store;
  isLeader(): boolean;
  membership(): { voters: string[]; learners: string[] };
  propose(command: FinishRootRotation): Promise<ApplyResult<FinishRootRotation>>;
  onChange(listener: (revision: number) => void): () => void;
}

/**
 * On the leader: ends a rotation once every node and manager holds a certificate from the
 * new root. Each renewal is a write (its record), so checking after every write sees the last.
 */
export function finishRotationsWhenDone(cluster: RotationCluster, logger: Logger): () => void {
  let proposing = false;
  return cluster.onChange(() => {
    if (proposing || !cluster.isLeader() || !cluster.store.rootCa()?.rotation) return;
    const security = cluster.store.security();
    if (!security) return;
    const { voters, learners } = cluster.membership();
    const status = rootCaStatus(cluster.store, security, [...voters, ...learners]);
    if (!status.holders.every((holder) => holder.onCurrentRoot)) return;
    proposing = true;
    void cluster
      .propose({ type: 'finishRootRotation', caCertPem: security.caCertPem })
      .then((result) => logger.info({ caDigest: status.caDigest, ok: result.ok }, 'root CA rotation finished: the old root is trusted no more'))
      .catch((error: unknown) => logger.warn({ err: error }, 'could not finish the root CA rotation yet; retrying on the next write'))
      .finally(() => (proposing = false));
  });
}
