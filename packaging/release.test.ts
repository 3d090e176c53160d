import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRelease, type Release } from './release';
import { ManagerProcess } from '../e2e/support/manager-process';
import { freeUdpPort, waitFor } from '../bench/raft/processes';
import { startDhtNode } from '../proto/runtime/dht/dht-node';
import { findRepoRoot } from '../e2e/lab/context';

const run = promisify(execFile);
const repoRoot = findRepoRoot(__dirname);
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

/**
 * The release artifact as a user gets it: one file beside its checksum, run by the system's
 * node from a directory with nothing else in it, for the CLI and for a manager.
 */
describe('the release artifact (npm run release)', () => {
  let dir: string;
  let release: Release;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-release-'));
    release = await buildRelease(repoRoot, join(dir, 'release'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The artifact's code cache goes to the test's directory, not the user's ~/.cache.
  const cacheDir = () => join(dir, 'cache', 'trellis');
  const trellis = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(release.artifact, args, { env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), ...env }, cwd: dir, timeout: 30_000 }).then((result) => result.stdout);

  it('is one executable file with a checksum file sha256sum accepts', () => {
    expect(readFileSync(release.checksumFile, 'utf8')).toBe(`${release.sha256}  trellis\n`);
    const check = spawnSync('sha256sum', ['-c', 'trellis.sha256'], { cwd: join(dir, 'release'), encoding: 'utf8' });
    expect(check.stdout).toBe('trellis: OK\n');
  });

  it('tells its version, commit, build time and checksum', async () => {
    const shown = JSON.parse(await trellis(['version', '--client', '--format', 'json'])) as { client: Record<string, string> };
    expect(shown.client).toEqual({
      version,
      commit: expect.stringMatching(/^([0-9a-f]{40}(-dirty)?)?$/),
      built: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      checksum: `sha256:${release.sha256}`,
    });
    expect(await trellis(['version', '--client'])).toContain(`Checksum:  sha256:${release.sha256}`);
  });

  it('prints its help, every command group in it', async () => {
    const help = await trellis(['--help']);
    for (const group of ['network', 'sandbox', 'service', 'node', 'cluster', 'manager', 'agent', 'version', 'completion']) expect(help).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
  });

  it('keeps a code cache of its own for later calls, works on whatever is in its place, and drops older builds\' caches', async () => {
    const help = await trellis(['--help']);
    const [cache] = readdirSync(cacheDir());
    expect(cache).toMatch(/^[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+\.v8cache$/);
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    writeFileSync(join(cacheDir(), 'an-older-build.v8cache'), 'left by an older trellis');
    writeFileSync(join(cacheDir(), cache ?? ''), 'not a code cache');
    expect(await trellis(['--help'])).toBe(help);
    expect(readFileSync(join(cacheDir(), cache ?? '')).length).toBeGreaterThan(100_000);
    expect(readdirSync(cacheDir())).toEqual([cache]);
  });

  describe('a manager run from it', () => {
    let manager: ManagerProcess;
    let env: NodeJS.ProcessEnv;
    let dhtPort: number;

    beforeAll(async () => {
      dhtPort = await freeUdpPort();
      manager = await ManagerProcess.start(join(dir, 'cluster'), release.artifact, dhtPort);
      env = { TRELLIS_MANAGER: manager.address, TRELLIS_TLS_DIR: manager.adminDir };
    }, 60_000);
    afterAll(() => manager.stop());

    // Its DHT node runs on the sodium-native and udx-native modules the artifact carries (nothing beside it to load them from).
    it('runs a gossip DHT bootstrap node that another DHT node joins through', async () => {
      const probe = await startDhtNode({ host: '127.0.0.1', port: 0, bootstrap: [{ host: '127.0.0.1', port: dhtPort }] });
      try {
        await waitFor("the manager's DHT node in the probe's routing table", async () =>
          probe.toArray().some((node) => node.host === '127.0.0.1' && node.port === dhtPort) ? true : undefined,
        );
      } finally {
        await probe.destroy();
      }
    });

    it('serves the bundled CLI: network create, then network ls shows it', async () => {
      const id = (await trellis(['network', 'create', '--subnet', '10.77.0.0/24', 'from-release'], env)).trim();
      const listed = JSON.parse(await trellis(['network', 'ls', '--format', 'json'], env)) as { id: string; name: string; subnet: string }[];
      expect(listed).toEqual([expect.objectContaining({ id, name: 'from-release', subnet: '10.77.0.0/24' })]);
    });

    it("answers GetVersion with the artifact's own checksum, beside the CLI's", async () => {
      const shown = JSON.parse(await trellis(['version', '--format', 'json'], env)) as { client: { checksum: string }; manager: { version: string; checksum: string } };
      expect(shown.manager).toEqual(expect.objectContaining({ version, checksum: `sha256:${release.sha256}` }));
      expect(shown.client.checksum).toBe(shown.manager.checksum);
    });

    it('serves health and reflection from the descriptors built into it (no .proto file beside it)', async () => {
      expect(await manager.serving()).toBe(true);
      const buf = join(repoRoot, 'node_modules', '.bin', 'buf');
      const tls = ['--cacert', join(manager.adminDir, 'ca.crt'), '--cert', join(manager.adminDir, 'admin.crt'), '--key', join(manager.adminDir, 'admin.key'), '--servername', 'trellis-manager'];
      const methods = (await run(buf, ['curl', '--protocol', 'grpc', ...tls, '--list-methods', `https://${manager.address}`], { timeout: 30_000 })).stdout;
      expect(methods.split('\n')).toEqual(expect.arrayContaining(['trellis.v1.Control/GetVersion', 'trellis.v1.Dispatcher/Session', 'grpc.health.v1.Health/Check']));
    });
  });
});
