import { generateKeyPair, privateKeyPem, SIGNING_ALGORITHM } from './keys';
import { x509 } from './x509';

/*
 * The request only proves possession of the key; the CA ignores its subject
 * and writes the node's identity itself, so a node cannot ask for a role.
 */
const PLACEHOLDER_SUBJECT = 'CN=trellis-node-pending';

/** A node's private key (never leaves the node) and the request the CA signs. */
export async function createKeyAndCsr(): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: PLACEHOLDER_SUBJECT,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return { keyPem: await privateKeyPem(keys.privateKey), csrPem: csr.toString('pem') };
}
