import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, in order. */
export function certificatesOf(bundlePem: string): string[] {
  return bundlePem.match(PEM_CERTIFICATE) ?? [];
}

/** Whether the first certificate of `certPem` was signed by the first of `caPem` (a root that signs today is first in a trust bundle). */
export function signedBy(certPem: string, caPem: string): boolean {
  const [leaf] = certificatesOf(certPem);
  const [ca] = certificatesOf(caPem);
  if (!leaf || !ca) return false;
  const leafCert = new X509Certificate(leaf);
  const caCert = new X509Certificate(ca);
  return leafCert.checkIssued(caCert) && leafCert.verify(caCert.publicKey);
}

/** A certificate followed by the chain to present after it ('' for none), as one PEM file. */
export function withChain(certPem: string, chainPem: string): string {
  return chainPem.trim() === '' ? certPem : `${certPem.trim()}\n${chainPem.trim()}\n`;
}
