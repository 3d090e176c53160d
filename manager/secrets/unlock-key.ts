import { randomBytes } from 'node:crypto';

/*
 * TRLSKEY-1-<52 base-32 characters>: 256 random bits, like Swarm's SWMKEY-1-…. With that much
 * randomness the key needs no stretching: HKDF turns it into a key-encryption key (key-file.ts).
 */
const PREFIX = 'TRLSKEY-1-';
const KEY_BYTES = 32;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const PATTERN = /^TRLSKEY-1-[A-Z2-7]{52}$/;

export class UnlockKeyError extends Error {
  override name = 'UnlockKeyError';
}

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function fromBase32(text: string): Buffer {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text) {
    value = (value << 5) | ALPHABET.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

export function newUnlockKey(): string {
  return PREFIX + base32(randomBytes(KEY_BYTES));
}

/** The key's random bytes; refuses anything not shaped like a key `newUnlockKey` made (surrounding blanks are ignored). */
export function unlockKeyBytes(key: string): Buffer {
  const trimmed = key.trim();
  if (!PATTERN.test(trimmed)) {
    throw new UnlockKeyError('unlock_key: not an unlock key; expected TRLSKEY-1-<52 characters A-Z, 2-7>, as `trellis cluster unlock-key` prints');
  }
  return fromBase32(trimmed.slice(PREFIX.length)).subarray(0, KEY_BYTES);
}
