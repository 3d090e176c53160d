import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOSSIP_SEED_FILE, gossipSeed } from './gossip-seed';
import { scratchDir } from './test-swarm';

describe('gossip seed', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let dir: string;
  beforeEach(() => {
    scratch = scratchDir();
    dir = scratch.path;
  });
  afterEach(() => scratch.remove());

  it('is made once, readable by its owner only, and the same on every later start', async () => {
    const stateDir = join(dir, 'state');
    const first = await gossipSeed(stateDir);
    expect(first).toHaveLength(32);
    expect(statSync(join(stateDir, GOSSIP_SEED_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect((await gossipSeed(stateDir)).equals(first)).toBe(true);
    const other = join(dir, 'other');
    expect((await gossipSeed(other)).equals(first)).toBe(false);
  });

  it('refuses a damaged seed file, naming it and the fix, instead of making a new key silently', async () => {
    writeFileSync(join(dir, GOSSIP_SEED_FILE), 'not hex\n', { mode: 0o600 });
    await expect(gossipSeed(dir)).rejects.toThrow(`${join(dir, GOSSIP_SEED_FILE)}: not a gossip seed (64 hex digits); remove it to make a new gossip key`);
  });
});
