import { webcrypto } from 'node:crypto';
import { x509 } from './x509';

/** Every key in the cluster, CA and nodes alike: short signatures, fast handshakes. */
const EC_P256: webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  // Extractable, because the private key is written to disk as PEM.
  return webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

export async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export function importPrivateKeyPem(keyPem: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), EC_P256, false, ['sign']);
}
