/**
 * The release artifact's data-plane path: the agent's code in the one-file artifact loads koffi's
 * native module it carries (nothing beside the file), and reaches a sandbox's namespace through
 * it. `agent --remove-all` takes the service-balancing table out of a namespace its state
 * directory lists, in-process; the module's extracted copy does not stay behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../e2e/lab/context';
import { BALANCING_LEDGER } from '../agent/lb/service-balancing';
import { buildRelease, type Release } from './release';

const HOST = `trrel-${process.pid}-host`;
const SANDBOX = `trrel-${process.pid}-sb`;
const tables = (netns: string): string => execFileSync('ip', ['netns', 'exec', netns, 'nft', 'list', 'tables'], { encoding: 'utf8' });

describe('the release artifact on the data plane', () => {
  let dir: string;
  let release: Release;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-release-agent-'));
    release = await buildRelease(findRepoRoot(__dirname), join(dir, 'release'));
    for (const netns of [HOST, SANDBOX]) execFileSync('ip', ['netns', 'add', netns]);
  }, 120_000);

  afterAll(() => {
    for (const netns of [HOST, SANDBOX]) spawnSync('ip', ['netns', 'del', netns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('agent --remove-all deletes a listed namespace’s balancing table through the bundled native module, and leaves no copy of it', () => {
    execFileSync('ip', ['netns', 'exec', SANDBOX, 'nft', 'add table ip trellis_lb; add chain ip trellis_lb output { type nat hook output priority -100; }']);
    expect(tables(SANDBOX)).toContain('trellis_lb');
    const stateDir = join(dir, 'state');
    const privateTmp = join(dir, 'tmp');
    mkdirSync(privateTmp);
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(join(stateDir, BALANCING_LEDGER), `${SANDBOX}\n`);
    // In a namespace of its own, so the host-wide part of --remove-all (mesh table, tunnel, links) meets nothing of anyone's.
    const removed = execFileSync(
      'ip',
      ['netns', 'exec', HOST, release.artifact, 'agent', '--remove-all', '--node', 'trrel', '--manager', '127.0.0.1:1', '--advertise-addr', '198.18.251.77', '--state-dir', stateDir],
      { encoding: 'utf8', cwd: dir, env: { ...process.env, TMPDIR: privateTmp }, timeout: 30_000 },
    );
    expect(removed).toContain('the balancing of 1 namespaces');
    expect(tables(SANDBOX)).not.toContain('trellis_lb');
    expect(readdirSync(privateTmp)).toEqual([]);
  });
});
