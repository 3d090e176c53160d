import { issueCertificate } from './issue';
import { certificateChainPem } from '../../proto/runtime/tls/tls-dir';
import type { NodeIdentity, NodeRole } from '../../proto/runtime/tls/identity';
import { createKeyAndCsr } from '../../proto/runtime/tls/node-key';
import { createRootCa, type PemKeyPair } from './root-ca';

/** A node's TLS material as the tests use it: key, leaf certificate, and leaf+CA chain. */
export interface NodeMaterial {
  keyPem: string;
  certPem: string;
  certChainPem: string;
}

export const testCa = (clusterId = 'cluster-test'): Promise<PemKeyPair> => createRootCa({ clusterId });

export async function nodeMaterial(ca: PemKeyPair, role: NodeRole, nodeId = `${role}-1`): Promise<NodeMaterial> {
  const { keyPem, csrPem } = await createKeyAndCsr();
  const identity: NodeIdentity = { nodeId, role, clusterId: 'cluster-test' };
  const certPem = await issueCertificate({ ca, csrPem, identity, validitySeconds: 3600, now: new Date() });
  return { keyPem, certPem, certChainPem: certificateChainPem(certPem, ca.certPem) };
}
