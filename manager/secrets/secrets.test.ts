import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEY_FILE, LockedError, newDataKey, readKeyFile, writeKeyFile } from './key-file';
import { newKey, openSealedText, seal, SealError } from './sealed';
import { newUnlockKey, unlockKeyBytes, UnlockKeyError } from './unlock-key';

describe('sealed values', () => {
  it('open with the key and purpose they were sealed with, and with nothing else', () => {
    const key = newKey();
    const sealed = seal(key, '-----BEGIN PRIVATE KEY-----\nsecret', 'c1/ca-key');
    expect(sealed).toMatch(/^sealed:v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(openSealedText(key, sealed, 'c1/ca-key')).toBe('-----BEGIN PRIVATE KEY-----\nsecret');
    expect(() => openSealedText(newKey(), sealed, 'c1/ca-key')).toThrow(SealError);
    expect(() => openSealedText(key, sealed, 'c1/join-secret/worker')).toThrow(SealError);
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1);
    expect(() => openSealedText(key, flipped, 'c1/ca-key')).toThrow(SealError);
  });

  it('differ each time the same text is sealed (a fresh IV)', () => {
    const key = newKey();
    expect(seal(key, 'x', 'p')).not.toBe(seal(key, 'x', 'p'));
  });
});

describe('unlock keys', () => {
  it('carry 256 random bits in the TRLSKEY-1- form and read back to them', () => {
    const key = newUnlockKey();
    expect(key).toMatch(/^TRLSKEY-1-[A-Z2-7]{52}$/);
    expect(unlockKeyBytes(key)).toHaveLength(32);
    expect(unlockKeyBytes(` ${key}\n`)).toEqual(unlockKeyBytes(key));
    expect(newUnlockKey()).not.toBe(key);
  });

  it('refuse anything else, naming the expected form', () => {
    expect(() => unlockKeyBytes('SWMKEY-1-abc')).toThrow(UnlockKeyError);
    expect(() => unlockKeyBytes('SWMKEY-1-abc')).toThrow(/TRLSKEY-1-/);
  });
});

describe('the data key file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-key-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is created 0600 and opens by itself while autolock is off', async () => {
    const dataKey = newDataKey();
    await writeKeyFile(dir, dataKey, { kind: 'none' });
    expect(statSync(join(dir, KEY_FILE)).mode & 0o777).toBe(0o600);
    const file = await readKeyFile(dir);
    expect(file?.locked).toBe(false);
    expect(file?.open()).toEqual(dataKey);
    expect(readFileSync(join(dir, KEY_FILE), 'utf8')).not.toContain(dataKey.toString('base64url'));
  });

  it('under autolock holds nothing that opens it: only the unlock key does, and no other', async () => {
    const dataKey = newDataKey();
    const unlockKey = newUnlockKey();
    await writeKeyFile(dir, dataKey, { kind: 'unlock-key', unlockKey });
    const text = readFileSync(join(dir, KEY_FILE), 'utf8');
    expect(JSON.parse(text)).not.toHaveProperty('kek');
    const file = await readKeyFile(dir);
    expect(file?.locked).toBe(true);
    expect(() => file?.open()).toThrow(LockedError);
    expect(() => file?.open(newUnlockKey())).toThrow(/does not open this manager/);
    expect(file?.open(unlockKey)).toEqual(dataKey);
  });

  it('is absent from a data dir that never had one', async () => {
    expect(await readKeyFile(dir)).toBeUndefined();
  });
});
