import { x509 } from './x509';
import { isNodeRole, NODE_ROLES, type NodeIdentity } from './peer-identity';

export { identityFromPeerCertificate, isNodeRole, NODE_ROLES, type NodeIdentity, type NodeRole } from './peer-identity';

export function identityFromPem(certPem: string): NodeIdentity {
  const subject = new x509.X509Certificate(certPem).subjectName;
  const [nodeId, role, clusterId] = ['CN', 'OU', 'O'].map((field) => subject.getField(field)[0] ?? '');
  if (!isNodeRole(role)) {
    throw new Error(`certificate OU ${JSON.stringify(role)} is not a Trellis role (one of ${NODE_ROLES.join(', ')})`);
  }
  return { nodeId, role, clusterId };
}

export function validity(certPem: string): { notBefore: Date; notAfter: Date } {
  const cert = new x509.X509Certificate(certPem);
  return { notBefore: cert.notBefore, notAfter: cert.notAfter };
}
