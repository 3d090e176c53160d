import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { listTree, runScript, standInArtifact, tempDir } from '../deploy/throwaway-root';

/**
 * vagrant/provision.sh is what the Vagrantfile runs on each VM. No VM boots here, so it runs with
 * --root against a throwaway tree, with the join tokens the first manager would have published
 * already in the shared folder.
 */
const REPO = join(__dirname, '..');
const PROVISION = join(__dirname, 'provision.sh');
const MANAGERS = '192.168.56.11,192.168.56.12,192.168.56.13';
const MANAGER_ADDRESSES = '192.168.56.11:4240,192.168.56.12:4240,192.168.56.13:4240';

let work: string;
let shared: string;
let artifact: string;

beforeEach(() => {
  work = tempDir('provision');
  shared = join(work, 'shared');
  mkdirSync(shared);
  writeFileSync(join(shared, 'worker-join-token'), 'TRLS-1-worker-token\n');
  writeFileSync(join(shared, 'manager-join-token'), 'TRLS-1-manager-token\n');
  artifact = standInArtifact(join(work, 'release'), 'release');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function provision(name: string, ip: string, role: 'manager' | 'worker') {
  const root = join(work, name);
  mkdirSync(root, { recursive: true });
  const run = runScript(PROVISION, [
    '--name', name, '--ip', ip, '--managers', MANAGERS, '--role', role,
    '--repo', REPO, '--shared', shared, '--artifact', artifact, '--underlay-device', 'eth1', '--root', root, '--wait', '0',
  ]);
  const config = (file: string): Record<string, unknown> => parse(readFileSync(join(root, 'etc/trellis', file), 'utf8')) as Record<string, unknown>;
  return { root, run, config };
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('vagrant/provision.sh (what the Vagrantfile runs), against a throwaway root', () => {
  test('the first manager starts a new cluster: a manager config without join, an agent config naming every manager', () => {
    const m1 = provision('m1', '192.168.56.11', 'manager');
    expect(m1.run.stderr).toBe('');
    expect(m1.run.status).toBe(0);
    expect(m1.config('manager.yaml')).toEqual({ listen: '192.168.56.11:4240', 'data-dir': '/var/lib/trellis/manager', 'admin-dir': '/var/lib/trellis/admin', 'log-level': 'info' });
    expect(m1.config('agent.yaml')).toEqual({
      manager: MANAGER_ADDRESSES,
      node: 'm1',
      'advertise-addr': '192.168.56.11',
      'underlay-device': 'eth1',
      'join-token-file': '/etc/trellis/worker-join-token',
      'state-dir': '/var/lib/trellis/agent',
      'log-level': 'info',
    });
    expect(m1.run.stdout).toMatch(/skipped \(--root .*\): systemctl enable --now trellis-manager/);
    expect(m1.run.stdout).toMatch(/skipped \(--root .*\): publishing the join tokens to /);
    expect(readFileSync(join(m1.root, 'etc/trellis/worker-join-token'), 'utf8')).toBe('TRLS-1-worker-token\n');
    expect(mode(join(m1.root, 'etc/trellis/worker-join-token'))).toBe('600');
  });

  test('another manager joins the first with the published manager token', () => {
    const m2 = provision('m2', '192.168.56.12', 'manager');
    expect(m2.run.status).toBe(0);
    expect(m2.config('manager.yaml')).toMatchObject({ listen: '192.168.56.12:4240', join: '192.168.56.11:4240', 'join-token-file': '/etc/trellis/manager-join-token' });
    expect(readFileSync(join(m2.root, 'etc/trellis/manager-join-token'), 'utf8')).toBe('TRLS-1-manager-token\n');
    expect(mode(join(m2.root, 'etc/trellis/manager-join-token'))).toBe('640');
  });

  test('a worker runs only an agent; provisioning it twice changes nothing', () => {
    const w1 = provision('w1', '192.168.56.21', 'worker');
    expect(w1.run.status).toBe(0);
    expect(w1.config('agent.yaml')).toMatchObject({ node: 'w1', 'advertise-addr': '192.168.56.21', manager: MANAGER_ADDRESSES });
    expect(w1.run.stdout).toMatch(/skipped \(--root .*\): systemctl enable --now trellis-agent/);
    expect(w1.run.stdout).not.toMatch(/provision w1: .*enable --now trellis-manager/);
    const first = listTree(w1.root);
    expect(provision('w1', '192.168.56.21', 'worker').run.status).toBe(0);
    expect(listTree(w1.root)).toEqual(first);
  });

  test('a joining machine without a published token says where it waited and for what', () => {
    rmSync(join(shared, 'manager-join-token'));
    const m3 = provision('m3', '192.168.56.13', 'manager');
    expect(m3.run.status).toBe(1);
    expect(m3.run.stderr).toContain(`no manager join token in ${shared} after 0s: is the first manager (192.168.56.11) provisioned?`);
  });

  test('every key the configs set is a flag of the command that reads them', () => {
    const flags = (args: string[]) => new Set(spawnSync('node', [join(REPO, 'dist/cli/main.js'), ...args, '--help'], { encoding: 'utf8' }).stdout.match(/--[a-z-]+/g));
    const global = flags([]);
    const m2 = provision('m2', '192.168.56.12', 'manager');
    for (const [file, command] of [['manager.yaml', 'manager'], ['agent.yaml', 'agent']] as const) {
      const known = new Set([...flags([command]), ...global]);
      expect(Object.keys(m2.config(file)).filter((key) => !known.has(`--${key}`))).toEqual([]);
    }
  });
});
