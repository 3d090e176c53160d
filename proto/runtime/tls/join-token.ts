import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { certificatesOf } from './trust';

/*
 * TRLS-1-<ca digest>-<secret>. The digest lets a new node recognise the real
 * CA before it trusts anything (see fetch-root-ca); the secret says which role
 * the holder may join as. Same shape as Swarm's SWMTKN-1-<digest>-<secret>.
 */
const PREFIX = 'TRLS';
const VERSION = '1';
const SECRET_LENGTH = 26;
/** 32 symbols, so a random byte masked to 5 bits picks each one with equal odds. */
const SECRET_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const SECRET_PATTERN = /^[a-z2-7]{26}$/;
const EXPECTED_FORM = `expected ${PREFIX}-${VERSION}-<ca digest>-<secret>, as printed by \`trellis cluster init\` or \`trellis cluster join-token\``;

export class JoinTokenError extends Error {
  override name = 'JoinTokenError';
}

export type JoinRole = 'trellis-worker' | 'trellis-manager';

export interface JoinSecrets {
  /** The roots a token may pin: one, or during a root rotation (a bundle) the new root and the old. */
  caCertPem: string;
  workerSecret: string;
  managerSecret: string;
}

/** Lowercase hex SHA-256 of the certificate's DER encoding. */
export function caDigest(caCertPem: string): string {
  return createHash('sha256').update(new X509Certificate(caCertPem).raw).digest('hex');
}

export function newJoinSecret(): string {
  return Array.from(randomBytes(SECRET_LENGTH), (byte) => SECRET_ALPHABET[byte & 31]).join('');
}

export function formatJoinToken(caCertPem: string, secret: string): string {
  return `${PREFIX}-${VERSION}-${caDigest(caCertPem)}-${secret}`;
}

export function parseJoinToken(token: string): { caDigest: string; secret: string } {
  const parts = token.trim().split('-');
  if (parts.length !== 4 || parts[0] !== PREFIX) throw new JoinTokenError(`join token: malformed; ${EXPECTED_FORM}`);
  const [, version, digest, secret] = parts;
  if (version !== VERSION) throw new JoinTokenError(`join token: version ${version} is not supported; ${EXPECTED_FORM}`);
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new JoinTokenError(`join token: the CA digest is not 64 lowercase hex digits; ${EXPECTED_FORM}`);
  if (!SECRET_PATTERN.test(secret)) throw new JoinTokenError(`join token: the secret is not 26 characters of [a-z2-7]; ${EXPECTED_FORM}`);
  return { caDigest: digest, secret };
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  // Constant time, so the answer's timing does not leak how much of a guess was right.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The role a join token admits its holder as, on the cluster that owns these secrets. */
export function roleForToken(token: string, secrets: JoinSecrets): JoinRole {
  const parsed = parseJoinToken(token);
  if (certificatesOf(secrets.caCertPem).some((root) => caDigest(root) === parsed.caDigest)) {
    if (sameSecret(parsed.secret, secrets.workerSecret)) return 'trellis-worker';
    if (sameSecret(parsed.secret, secrets.managerSecret)) return 'trellis-manager';
  }
  throw new JoinTokenError(
    'join token: not valid for this cluster (rotated, or from another cluster); get the current one with `trellis cluster join-token worker`',
  );
}
