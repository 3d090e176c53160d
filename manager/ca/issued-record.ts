import { identityFromPem } from '../../proto/runtime/tls/identity';
import { caDigest } from '../../proto/runtime/tls/join-token';
import { x509 } from '../../proto/runtime/tls/x509';
import type { IssuedCertificateRecord } from '../store';

/** What the store records of a certificate `caCertPem` just issued (`now` is the issuing manager's clock). */
export function issuedRecord(certificatePem: string, requestedBy: string, caCertPem: string, now = new Date()): IssuedCertificateRecord {
  const cert = new x509.X509Certificate(certificatePem);
  const { nodeId, role } = identityFromPem(certificatePem);
  const notAfter = cert.notAfter.getTime();
  return { nodeId, role, serial: cert.serialNumber.toLowerCase(), issuedAt: now.getTime(), notAfter, requestedBy, caDigest: caDigest(caCertPem) };
}
