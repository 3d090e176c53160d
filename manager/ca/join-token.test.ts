import { createRootCa, type PemKeyPair } from './root-ca';
import { caDigest, formatJoinToken, JoinTokenError, newJoinSecret, parseJoinToken, roleForToken, type JoinSecrets } from '../../proto/runtime/tls/join-token';
import { x509 } from '../../proto/runtime/tls/x509';

describe('join tokens', () => {
  let ca: PemKeyPair;
  let secrets: JoinSecrets;
  beforeAll(async () => {
    ca = await createRootCa({ clusterId: 'cluster-a' });
    secrets = { caCertPem: ca.certPem, workerSecret: newJoinSecret(), managerSecret: newJoinSecret() };
  });

  it('pins the CA by the SHA-256 of its DER encoding', async () => {
    const digest = Buffer.from(await new x509.X509Certificate(ca.certPem).getThumbprint('SHA-256')).toString('hex');
    expect(caDigest(ca.certPem)).toBe(digest);
  });

  it('makes fresh 26-character base32 secrets', () => {
    const made = Array.from({ length: 50 }, newJoinSecret);
    for (const secret of made) expect(secret).toMatch(/^[a-z2-7]{26}$/);
    expect(new Set(made).size).toBe(made.length);
  });

  it('formats and parses back', () => {
    const token = formatJoinToken(ca.certPem, secrets.workerSecret);
    expect(token).toBe(`TRLS-1-${caDigest(ca.certPem)}-${secrets.workerSecret}`);
    expect(parseJoinToken(`  ${token}\n`)).toEqual({ caDigest: caDigest(ca.certPem), secret: secrets.workerSecret });
  });

  it.each([
    ['', 'join token: malformed; expected TRLS-1-<ca digest>-<secret>, as printed by `trellis cluster init` or `trellis cluster join-token`'],
    ['SWMTKN-1-abc-def', 'join token: malformed'],
    [`TRLS-2-${'a'.repeat(64)}-${'b'.repeat(26)}`, 'join token: version 2 is not supported'],
    [`TRLS-1-${'A'.repeat(64)}-${'b'.repeat(26)}`, 'join token: the CA digest is not 64 lowercase hex digits'],
    [`TRLS-1-${'a'.repeat(63)}-${'b'.repeat(26)}`, 'join token: the CA digest is not 64 lowercase hex digits'],
    [`TRLS-1-${'a'.repeat(64)}-${'b'.repeat(25)}`, 'join token: the secret is not 26 characters of [a-z2-7]'],
    [`TRLS-1-${'a'.repeat(64)}-${'1'.repeat(26)}`, 'join token: the secret is not 26 characters of [a-z2-7]'],
  ])('refuses %j, naming the problem', (token, message) => {
    expect(() => parseJoinToken(token)).toThrow(JoinTokenError);
    expect(() => parseJoinToken(token)).toThrow(message);
  });

  it('tells the worker token from the manager token', () => {
    expect(roleForToken(formatJoinToken(ca.certPem, secrets.workerSecret), secrets)).toBe('trellis-worker');
    expect(roleForToken(formatJoinToken(ca.certPem, secrets.managerSecret), secrets)).toBe('trellis-manager');
  });

  const notValid = 'join token: not valid for this cluster (rotated, or from another cluster)';

  it('refuses a token for another cluster CA even with the right secret', async () => {
    const other = await createRootCa({ clusterId: 'cluster-b' });
    expect(() => roleForToken(formatJoinToken(other.certPem, secrets.workerSecret), secrets)).toThrow(notValid);
  });

  it('refuses a wrong secret', () => {
    expect(() => roleForToken(formatJoinToken(ca.certPem, newJoinSecret()), secrets)).toThrow(notValid);
  });

  it('refuses the old token once the secret is rotated', () => {
    const old = formatJoinToken(ca.certPem, secrets.workerSecret);
    const rotated = { ...secrets, workerSecret: newJoinSecret() };
    expect(() => roleForToken(old, rotated)).toThrow(JoinTokenError);
    expect(roleForToken(formatJoinToken(ca.certPem, rotated.workerSecret), rotated)).toBe('trellis-worker');
  });

  it('refuses rather than throws when a stored secret has another length', () => {
    const token = formatJoinToken(ca.certPem, secrets.workerSecret);
    expect(() => roleForToken(token, { ...secrets, workerSecret: 'short', managerSecret: 'short' })).toThrow(notValid);
  });
});
