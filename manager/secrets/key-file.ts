import { hkdfSync, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readOptionalText } from '../../proto/runtime/optional-file';
import { PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';
import { syncDirectory } from '../raft/storage/file-sync';
import { newKey, openSealed, seal, SealError } from './sealed';
import { unlockKeyBytes } from './unlock-key';

/*
 * How the cluster's secrets are kept at rest (after Swarm's raft DEK/KEK):
 *
 * - The DATA KEY: 256 random bits made once, by `trellis cluster init` (or the first manager).
 *   The store holds the CA key, the join secrets and the unlock key only sealed under it
 *   (AES-256-GCM, sealed.ts), so the Raft log and snapshots, and any copy of them, never carry
 *   them in plaintext. Sealing happens in the proposer; commands carry ciphertext, apply stays
 *   deterministic.
 * - Each manager keeps the data key in its data dir, in `data-key.json` (0600), wrapped by a
 *   KEY-ENCRYPTION KEY. Without autolock the KEK is random and stored beside it in the same file,
 *   as Swarm does: whoever can read the data dir can read the CA key, but the log, snapshots and
 *   backups of them alone cannot. With autolock the KEK is derived from the unlock key with
 *   HKDF-SHA256 (the key is 256 random bits, so it needs no password stretching) and a random salt,
 *   and the file holds nothing that opens the data key: a restarted manager waits for
 *   `trellis cluster unlock`.
 * - A joining manager receives the data key (and the unlock key, under autolock) from the member
 *   it joins through, in the Join reply: a Raft RPC, which only a manager certificate may call,
 *   over mTLS.
 * - The unlock key is replicated sealed under the data key in the store (security.unlockKeySealed),
 *   so every manager can rewrap its own file when autolock is turned on or off or the key is
 *   rotated (autolock-keeper.ts); after a rotation no file opens with the old key.
 */
export const KEY_FILE = 'data-key.json';
const DATA_KEY_PURPOSE = 'trellis data key';
const HKDF_INFO = 'trellis unlock key to key-encryption key v1';

interface KeyFileJson {
  version: 1;
  /** 'none': the KEK is `kek`, beside the wrapped key; 'unlock-key': the KEK comes from the unlock key and `salt`. */
  protection: 'none' | 'unlock-key';
  kek?: string;
  salt?: string;
  dataKey: string;
}

/** How a manager's data key file is protected: by nothing but file modes, or by the unlock key. */
export type Protection = { kind: 'none' } | { kind: 'unlock-key'; unlockKey: string };

export class LockedError extends Error {
  override name = 'LockedError';
}

function kekFromUnlockKey(unlockKey: string, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', unlockKeyBytes(unlockKey), salt, HKDF_INFO, 32));
}

/** A new random data key, for a new cluster. */
export function newDataKey(): Buffer {
  return newKey();
}

/** Writes the manager's data key file atomically (temporary file, sync, rename, directory sync), created 0600. */
export async function writeKeyFile(dataDir: string, dataKey: Buffer, protection: Protection): Promise<void> {
  let content: KeyFileJson;
  if (protection.kind === 'none') {
    const kek = newKey();
    content = { version: 1, protection: 'none', kek: kek.toString('base64url'), dataKey: seal(kek, dataKey, DATA_KEY_PURPOSE) };
  } else {
    const salt = randomBytes(16);
    const kek = kekFromUnlockKey(protection.unlockKey, salt);
    content = { version: 1, protection: 'unlock-key', salt: salt.toString('base64url'), dataKey: seal(kek, dataKey, DATA_KEY_PURPOSE) };
  }
  const path = join(dataDir, KEY_FILE);
  const temporary = `${path}.tmp`;
  await rm(temporary, { force: true });
  const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(JSON.stringify(content) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncDirectory(dataDir);
}

/** The parsed key file, or undefined when the data dir has none (a manager still joining, or a pre-encryption one). */
export async function readKeyFile(dataDir: string): Promise<KeyFile | undefined> {
  const text = await readOptionalText(join(dataDir, KEY_FILE));
  if (text === undefined) return undefined;
  const json = JSON.parse(text) as KeyFileJson;
  if (json.version !== 1 || (json.protection !== 'none' && json.protection !== 'unlock-key')) {
    throw new Error(`${join(dataDir, KEY_FILE)}: not a data key file this version can read`);
  }
  return new KeyFile(json);
}

export class KeyFile {
  constructor(private readonly json: KeyFileJson) {}

  /** Whether opening it needs the unlock key. */
  get locked(): boolean {
    return this.json.protection === 'unlock-key';
  }

  /**
   * The data key. A locked file needs `unlockKey`: without one, LockedError; with a wrong one
   * (rotated, or another cluster's), SealError.
   */
  open(unlockKey?: string): Buffer {
    if (this.json.protection === 'none') return openSealed(Buffer.from(this.json.kek ?? '', 'base64url'), this.json.dataKey, DATA_KEY_PURPOSE);
    if (unlockKey === undefined) throw new LockedError('this manager is locked (autolock): its data key opens only with the unlock key');
    try {
      return openSealed(kekFromUnlockKey(unlockKey, Buffer.from(this.json.salt ?? '', 'base64url')), this.json.dataKey, DATA_KEY_PURPOSE);
    } catch (error) {
      if (error instanceof SealError) {
        throw new SealError(
          'unlock_key: this key does not open this manager; give the unlock key that was current when it stopped (`trellis cluster unlock-key` prints the current one)',
        );
      }
      throw error;
    }
  }
}
