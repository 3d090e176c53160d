import { identityFromPem } from '../../proto/runtime/tls/identity';
import { x509 } from '../../proto/runtime/tls/x509';
import type { IssuedCertificateRecord } from '../store';

/** What the store records of a certificate just issued (`now` is the issuing manager's clock). */
export function issuedRecord(certificatePem: string, requestedBy: string, now = new Date()): IssuedCertificateRecord {
  const cert = new x509.X509Certificate(certificatePem);
  const { nodeId, role } = identityFromPem(certificatePem);
  return { nodeId, role, serial: cert.serialNumber.toLowerCase(), issuedAt: now.getTime(), notAfter: cert.notAfter.getTime(), requestedBy };
}
