import { randomBytes } from 'node:crypto';
import type { NodeIdentity } from '../../proto/runtime/tls/identity';
import { importPrivateKeyPem, SIGNING_ALGORITHM } from '../../proto/runtime/tls/keys';
import type { PemKeyPair } from './root-ca';
import { validityWindow } from './validity-window';
import { MANAGER_SERVER_NAME } from '../../proto/runtime/tls/node-certificate';
import { x509 } from '../../proto/runtime/tls/x509';

export interface IssueRequest {
  ca: PemKeyPair;
  csrPem: string;
  identity: NodeIdentity;
  validitySeconds: number;
  now: Date;
}

async function verifiedRequest(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (error) {
    throw new Error(`the certificate request is not a PEM PKCS#10 request: ${error instanceof Error ? error.message : String(error)}`);
  }
  // Without this, anyone could get a certificate for a public key whose private key they lack.
  if (!(await csr.verify())) throw new Error("the certificate request's signature does not verify");
  return csr;
}

/** Why `csrPem` could not be signed (not a PKCS#10 request, or its signature fails), or undefined: for checks before anything changes. */
export async function certificateRequestProblem(csrPem: string): Promise<string | undefined> {
  try {
    await verifiedRequest(csrPem);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Signs a node's request, putting the identity the CA decided into the subject. */
export async function issueCertificate(request: IssueRequest): Promise<string> {
  const csr = await verifiedRequest(request.csrPem);
  const ca = new x509.X509Certificate(request.ca.certPem);
  const { nodeId, role, clusterId } = request.identity;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject: [{ O: [clusterId] }, { OU: [role] }, { CN: [nodeId] }],
    issuer: ca.subjectName,
    publicKey: csr.publicKey,
    signingKey: await importPrivateKeyPem(request.ca.keyPem),
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validityWindow(request.now, request.validitySeconds * 1000),
    extensions: [
      // A node certificate must never be able to sign other certificates.
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      // Every node is both a TLS server (its own services) and a client (of managers).
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      // Managers answer to one name whatever their address, so that standard clients
      // (`buf curl --servername trellis-manager`) can verify them fully.
      ...(role === 'trellis-manager' ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: MANAGER_SERVER_NAME }])] : []),
    ],
  });
  return cert.toString('pem');
}
