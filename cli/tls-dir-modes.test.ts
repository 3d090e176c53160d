import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCluster } from '../manager/ca';

/** The CLI as users run it (the build in dist/, as the lab runs it). */
const cli = join(__dirname, '..', 'dist', 'cli', 'main.js');

describe("the CLI's TLS dir", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'trellis-cli-tls-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is written 0700 with every file 0600, and loosened modes are put back with a warning naming each path', async () => {
    const admin = join(root, 'admin');
    await initCluster({ dataDir: join(root, 'data'), adminDir: admin });
    const files = ['ca.crt', 'admin.crt', 'admin.key'].map((name) => join(admin, name));
    expect([admin, ...files].map((path) => (statSync(path).mode & 0o777).toString(8))).toEqual(['700', '600', '600', '600']);
    chmodSync(admin, 0o755);
    for (const path of files) chmodSync(path, 0o644);
    // No manager listens on port 1: the call fails, after the directory was looked at.
    const run = spawnSync(process.execPath, [cli, '--tls-dir', admin, '--manager', '127.0.0.1:1', 'network', 'ls'], { encoding: 'utf8', timeout: 30_000 });
    for (const path of [admin, ...files]) {
      expect(run.stderr).toContain(`Warning: ${path} was readable by other users`);
      expect((statSync(path).mode & 0o777).toString(8)).toBe(path === admin ? '700' : '600');
    }
  });
});
