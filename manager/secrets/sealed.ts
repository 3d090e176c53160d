import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { isSealed, SEALED_PREFIX } from './sealed-format';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed text that does not open: a wrong key, another purpose, or changed bytes (GCM tells them apart from none). */
export class SealError extends Error {
  override name = 'SealError';
}

/** A new random AES-256 key. */
export function newKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * AES-256-GCM with a fresh 96-bit IV: `sealed:v1:` + base64url(iv | tag | ciphertext).
 * `purpose` is authenticated with it (GCM's additional data), so a sealed CA key cannot be
 * passed off as a join secret, nor one cluster's secret as another's.
 */
export function seal(key: Uint8Array, plaintext: Uint8Array | string, purpose: string): string {
  if (key.length !== KEY_BYTES) throw new Error(`seal: a key is ${KEY_BYTES} bytes, not ${key.length}`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

export function openSealed(key: Uint8Array, sealed: string, purpose: string): Buffer {
  if (!isSealed(sealed)) throw new SealError(`not a sealed value (expected ${SEALED_PREFIX}…)`);
  const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SealError('sealed value too short');
  const decipher = createDecipheriv(ALGORITHM, key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(purpose, 'utf8'));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealError(`does not open with this key for ${purpose}`);
  }
}

export function openSealedText(key: Uint8Array, sealed: string, purpose: string): string {
  return openSealed(key, sealed, purpose).toString('utf8');
}
