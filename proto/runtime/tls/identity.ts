import type { PeerCertificate } from 'node:tls';
import { x509 } from './x509';

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

export function identityFromPem(certPem: string): NodeIdentity {
  const subject = new x509.X509Certificate(certPem).subjectName;
  const [nodeId, role, clusterId] = ['CN', 'OU', 'O'].map((field) => subject.getField(field)[0] ?? '');
  if (!isNodeRole(role)) {
    throw new Error(`certificate OU ${JSON.stringify(role)} is not a Trellis role (one of ${NODE_ROLES.join(', ')})`);
  }
  return { nodeId, role, clusterId };
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

export function validity(certPem: string): { notBefore: Date; notAfter: Date } {
  const cert = new x509.X509Certificate(certPem);
  return { notBefore: cert.notBefore, notAfter: cert.notAfter };
}
