import { X509Certificate } from 'node:crypto';
import { identityFromPem, validity } from '../../proto/runtime/tls/identity';
import { issueCertificate } from './issue';
import { certificateChainPem } from '../../proto/runtime/tls/tls-dir';
import { createKeyAndCsr } from '../../proto/runtime/tls/node-key';
import { createRootCa, type PemKeyPair } from './root-ca';
import { x509 } from '../../proto/runtime/tls/x509';

const now = new Date('2030-01-01T00:00:00Z');
const identity = { nodeId: 'node-7', role: 'trellis-worker', clusterId: 'cluster-a' } as const;

describe('certificate issuing', () => {
  let ca: PemKeyPair;
  beforeAll(async () => {
    ca = await createRootCa({ clusterId: 'cluster-a' });
  });

  it('makes a self-signed CA that may only sign certificates and CRLs', async () => {
    const cert = new x509.X509Certificate(ca.certPem);
    expect(cert.subjectName.getField('CN')).toEqual(['trellis-root-ca']);
    expect(cert.subjectName.getField('O')).toEqual(['cluster-a']);
    expect(await cert.isSelfSigned()).toBe(true);
    const constraints = cert.getExtension(x509.BasicConstraintsExtension);
    expect(constraints).toMatchObject({ ca: true, critical: true });
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const { notBefore, notAfter } = validity(ca.certPem);
    expect((notAfter.getTime() - notBefore.getTime()) / 86_400_000).toBeCloseTo(3650, 0);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('issues a certificate that carries the identity the CA chose, not the request subject', async () => {
    const { csrPem } = await createKeyAndCsr();
    const certPem = await issueCertificate({ ca, csrPem, identity, validitySeconds: 3600, now });
    expect(identityFromPem(certPem)).toEqual(identity);
    expect(validity(certPem)).toEqual({ notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 3_600_000) });

    const leaf = new X509Certificate(certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const usages = new x509.X509Certificate(certPem).getExtension(x509.KeyUsagesExtension)?.usages;
    expect(usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  });

  it('names managers trellis-manager for standard host-name checks, and no other node', async () => {
    const manager = await issueCertificate({ ca, csrPem: (await createKeyAndCsr()).csrPem, identity: { ...identity, role: 'trellis-manager' }, validitySeconds: 3600, now });
    expect(new X509Certificate(manager).checkHost('trellis-manager')).toBe('trellis-manager');
    const worker = await issueCertificate({ ca, csrPem: (await createKeyAndCsr()).csrPem, identity, validitySeconds: 3600, now });
    expect(new X509Certificate(worker).checkHost('trellis-manager')).toBeUndefined();
  });

  it('backdates a short-lived certificate by a tenth of its life, not a minute', async () => {
    const certPem = await issueCertificate({ ca, csrPem: (await createKeyAndCsr()).csrPem, identity, validitySeconds: 10, now });
    expect(validity(certPem).notBefore).toEqual(new Date(now.getTime() - 1_000));
  });

  it('gives every certificate a fresh random serial', async () => {
    const { csrPem } = await createKeyAndCsr();
    const serials = await Promise.all(
      [1, 2, 3].map(async () => new X509Certificate(await issueCertificate({ ca, csrPem, identity, validitySeconds: 60, now })).serialNumber),
    );
    expect(new Set(serials).size).toBe(3);
    for (const serial of serials) expect(serial.length).toBeGreaterThanOrEqual(30);
  });

  it('refuses a request whose signature does not verify', async () => {
    const { csrPem } = await createKeyAndCsr();
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    der[der.length - 1] ^= 0x01; // the last byte of the ECDSA signature
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await expect(issueCertificate({ ca, csrPem: tampered, identity, validitySeconds: 60, now })).rejects.toThrow(
      "the certificate request's signature does not verify",
    );
  });

  it('refuses something that is not a certificate request', async () => {
    await expect(issueCertificate({ ca, csrPem: 'hello', identity, validitySeconds: 60, now })).rejects.toThrow(
      'the certificate request is not a PEM PKCS#10 request',
    );
  });

  it('refuses to read an identity from a certificate with no Trellis role', () => {
    expect(() => identityFromPem(ca.certPem)).toThrow('certificate OU "" is not a Trellis role');
  });

  it('chains the leaf before the CA', async () => {
    const { csrPem } = await createKeyAndCsr();
    const certPem = await issueCertificate({ ca, csrPem, identity, validitySeconds: 60, now });
    const chain = certificateChainPem(certPem, ca.certPem);
    const certificates = chain.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    expect(certificates.map((pem) => new X509Certificate(pem).subject)).toEqual([
      new X509Certificate(certPem).subject,
      new X509Certificate(ca.certPem).subject,
    ]);
  });
});
