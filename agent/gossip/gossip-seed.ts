import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';

/** In the agent's state directory: the 32-byte seed of its gossip key pair, hex, readable by its owner only. */
export const GOSSIP_SEED_FILE = 'gossip.seed';

const SEED_BYTES = 32;

/**
 * The agent's gossip seed: made once (random) and kept, so its public key — registered with the
 * managers and listed in its peers' views — stays the same across restarts. Created with its mode
 * (never chmod'ed after), like the agent's TLS key.
 */
export async function gossipSeed(stateDir: string): Promise<Buffer> {
  const path = join(stateDir, GOSSIP_SEED_FILE);
  try {
    return parseSeed(path, await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(stateDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const seed = randomBytes(SEED_BYTES);
  // 'wx': two agents started on one state directory cannot both write a seed; the loser reads the winner's.
  const file = await open(path, 'wx', PRIVATE_FILE_MODE).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return undefined;
    throw error;
  });
  if (file === undefined) return parseSeed(path, await readFile(path, 'utf8'));
  try {
    await file.writeFile(`${seed.toString('hex')}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  return seed;
}

function parseSeed(path: string, text: string): Buffer {
  const hex = text.trim();
  if (!new RegExp(`^[0-9a-f]{${SEED_BYTES * 2}}$`).test(hex)) {
    throw new Error(`${path}: not a gossip seed (${SEED_BYTES * 2} hex digits); remove it to make a new gossip key, which the agent registers with the managers when it connects`);
  }
  return Buffer.from(hex, 'hex');
}
