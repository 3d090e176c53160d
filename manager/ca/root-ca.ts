import { randomBytes } from 'node:crypto';
import { generateKeyPair, importPrivateKeyPem, privateKeyPem, SIGNING_ALGORITHM } from '../../proto/runtime/tls/keys';
import { validityWindow } from './validity-window';
import { x509 } from '../../proto/runtime/tls/x509';

export interface PemKeyPair {
  certPem: string;
  keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The cluster's trust anchor, made by `trellis cluster init`, and again by each root
 * rotation under another name (`commonName`): chains are built by name, so two roots
 * that a peer may both see must not share one.
 */
export async function createRootCa(options: { clusterId: string; validityDays?: number; commonName?: string }): Promise<PemKeyPair> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ O: [options.clusterId] }, { CN: [options.commonName ?? 'trellis-root-ca'] }],
    keys,
    ...validityWindow(new Date(), (options.validityDays ?? 3650) * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: caExtensions(),
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

function caExtensions(): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

/**
 * `root`'s name and key in a certificate `signer` issued: presented after a certificate
 * `root` signed, it lets a peer that trusts only `signer` accept it (Swarm's cross-signed
 * intermediate). Valid as long as `root`.
 */
export async function crossSign(rootCertPem: string, signer: PemKeyPair): Promise<string> {
  const root = new x509.X509Certificate(rootCertPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject: root.subjectName,
    issuer: new x509.X509Certificate(signer.certPem).subjectName,
    publicKey: root.publicKey,
    signingKey: await importPrivateKeyPem(signer.keyPem),
    signingAlgorithm: SIGNING_ALGORITHM,
    notBefore: root.notBefore,
    notAfter: root.notAfter,
    extensions: caExtensions(),
  });
  return cert.toString('pem');
}
