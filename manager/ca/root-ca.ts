import { generateKeyPair, privateKeyPem, SIGNING_ALGORITHM } from '../../proto/runtime/tls/keys';
import { validityWindow } from './validity-window';
import { x509 } from '../../proto/runtime/tls/x509';

export interface PemKeyPair {
  certPem: string;
  keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The cluster's trust anchor, made once by `trellis cluster init`. */
export async function createRootCa(options: { clusterId: string; validityDays?: number }): Promise<PemKeyPair> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ O: [options.clusterId] }, { CN: ['trellis-root-ca'] }],
    keys,
    ...validityWindow(new Date(), (options.validityDays ?? 3650) * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}
