import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logTail, startProcess, stopProcess, waitFor, type Started } from '../../bench/raft/processes';
import { adminControl } from '../../manager/cluster-clients';
import { callUnary } from '../../proto/runtime/unary-call';

/*
 * Config files through the CLI as users run it (the build in dist/, as the lab and systemd run it):
 * `trellis config check`, and daemons that refuse a bad file before they start anything.
 */

const repo = join(__dirname, '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const examples = join(repo, 'deploy', 'examples');

/** This environment without TRELLIS_* variables (a lab shell sets TRELLIS_MANAGER), plus `extra`. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TRELLIS_'))), ...extra };
}

function trellis(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: cleanEnv(env), timeout: 30_000 });
}

interface Checked {
  role: string;
  settings: Record<string, { value: unknown; source: string; line?: number }>;
}

/** YAML keys of a file, top level only (the examples are flat). */
function keysOf(text: string): string[] {
  return text.split('\n').flatMap((line) => /^([a-z][a-z-]*):/.exec(line)?.[1] ?? []);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trellis-config-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trellis config check', () => {
  it.each(['manager', 'agent'])('passes deploy/examples/%s.yaml, every key in it taken from the file', (role) => {
    const path = join(examples, `${role}.yaml`);
    const run = trellis(['config', 'check', path, '--format', 'json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const checked = JSON.parse(run.stdout) as Checked;
    expect(checked.role).toBe(role);
    const keys = keysOf(readFileSync(path, 'utf8'));
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) expect([key, checked.settings[key]?.source]).toEqual([key, 'file']);
  });

  it('prints where each setting came from: flag over environment over file over default', () => {
    const path = join(dir, 'agent.yaml');
    writeFileSync(path, 'node: from-file\nadvertise-addr: 198.18.0.21\nlog-level: warn\nstate-dir: /srv/file\n');
    const run = trellis(['config', 'check', path, '--', '--log-level', 'debug'], { TRELLIS_LOG_LEVEL: 'error', TRELLIS_STATE_DIR: '/srv/env' });
    expect(run.status).toBe(0);
    const rows = Object.fromEntries(run.stdout.trim().split('\n').slice(1).map((line) => [line.split(/\s+/)[0], line.split(/\s+/).slice(1)]));
    expect(rows['node']).toEqual(['from-file', 'file:1']);
    expect(rows['state-dir']).toEqual(['/srv/env', 'env', 'TRELLIS_STATE_DIR']);
    expect(rows['log-level']).toEqual(['debug', 'flag']);
    expect(rows['underlay-device']).toEqual(['eth0', 'default']);
  });

  it('lists every problem of a bad file with its line and key, and exits 1', () => {
    const path = join(dir, 'bad-manager.yaml');
    writeFileSync(path, 'listen: 198.18.0.1:4240\nlsten: 198.18.0.1:4240\nforce-new-cluster: yes\nreserved-ports: [22]\n');
    const run = trellis(['config', 'check', path]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${path}:2: key "lsten": unknown setting; did you mean "listen"?`);
    expect(run.stderr).toContain(`${path}:3: key "force-new-cluster": "yes" is not a boolean`);
    // An agent's key in a manager's file: the role decides what is known.
    expect(run.stderr).toContain(`${path}:4: key "reserved-ports": unknown setting`);
  });

  it('takes the role from --role when the file name does not tell', () => {
    const path = join(dir, 'node.yaml');
    writeFileSync(path, 'node: n1\nadvertise-addr: 198.18.0.21\n');
    const guessed = trellis(['config', 'check', path]);
    expect(guessed.status).toBe(1);
    expect(guessed.stderr).toContain('--role: cannot tell from the name "node.yaml" whether it configures a manager or an agent');
    expect(trellis(['config', 'check', path, '--role', 'agent']).status).toBe(0);
  });
});

describe('a daemon given a bad config file', () => {
  it.each([
    ['manager', 'data-dir', 'max-joins-per-minute: 0\n', ':1: key "max-joins-per-minute": 0 would let no node join; give 1 or more'],
    ['agent', 'state-dir', 'node: n1\nadvertise-addr: 198.18.0.21\nresync-intervall: 30s\n', ':3: key "resync-intervall": unknown setting; did you mean "resync-interval"?'],
  ])('refuses to start: trellis %s exits 1 naming line and key, its %s never made', (role, dirKey, text, message) => {
    const path = join(dir, `refused-${role}.yaml`);
    const stateDir = join(dir, `${role}-state`);
    writeFileSync(path, `${text}${dirKey}: ${stateDir}\n`);
    const run = trellis([role, '--config', path]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`Error: ${path}${message}`);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('refuses a config file that is not there when it was named', () => {
    const run = trellis(['manager', '--config', join(dir, 'missing.yaml')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`--config: cannot read ${join(dir, 'missing.yaml')}: no such file`);
  });
});

describe('a manager started from a config file', () => {
  let started: Started | undefined;
  afterEach(async () => {
    if (started) await stopProcess(started);
    started = undefined;
  });

  it('serves where the file says, its data and admin certificate where the file says, the environment still winning', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const adminDir = join(dir, 'started-admin');
    const path = join(dir, 'started-manager.yaml');
    writeFileSync(path, `listen: ${address}\ndata-dir: ${join(dir, 'file-data')}\nadmin-dir: ${adminDir}\nlog-level: info\n`);
    chmodSync(path, 0o600);
    const env = cleanEnv({ TRELLIS_DATA_DIR: join(dir, 'env-data'), TRELLIS_LOG_LEVEL: 'warn' });
    started = startProcess('trellis manager', process.execPath, [cli, 'manager', '--config', path], join(dir, 'started.log'), env);
    const running = started;
    const answer = await waitFor(`the manager to serve at ${address}`, async () => {
      if (running.child.exitCode !== null) throw new Error(`it exited:\n${logTail(running)}`);
      const client = adminControl(address, adminDir);
      try {
        return await callUnary(client, (c) => c.listManagers, {}, 2000);
      } finally {
        client.close();
      }
    });
    expect(answer.managers.map((manager) => manager.address)).toEqual([address]);
    expect(existsSync(join(dir, 'env-data'))).toBe(true);
    expect(existsSync(join(dir, 'file-data'))).toBe(false);
    // log-level warn from the environment: the info lines of a start are not written.
    expect(readFileSync(join(dir, 'started.log'), 'utf8')).not.toContain('"level":30');
  });
});
