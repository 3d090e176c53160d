import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, statSync, existsSync, symlinkSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagerProcess, PREDATES_GOSSIP } from '../e2e/support/manager-process';
import { findRepoRoot } from '../e2e/lab/context';
import { previousRelease, previousReleaseCommit } from '../packaging/previous-release';
import { buildRelease } from '../packaging/release';
import { INSTALL_SH, listTree, runScript, standInArtifact, tempDir } from './throwaway-root';

let work: string;
let root: string;

beforeEach(() => {
  work = tempDir('install');
  root = join(work, 'root');
  mkdirSync(root);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function install(...args: string[]) {
  return runScript(INSTALL_SH, ['--root', root, ...args]);
}

const mode = (path: string) => (statSync(join(root, path)).mode & 0o777).toString(8);

describe('deploy/install.sh into a throwaway root', () => {
  test('installs the artifact, units, configs and private directories; a second run changes nothing; --uninstall leaves the root empty', () => {
    const artifact = standInArtifact(join(work, 'a'), 'version-a');
    const first = install('--artifact', artifact);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    // What a --root run leaves to the machine it is for, it says it skipped.
    expect(first.stdout).toMatch(/skipped \(--root .*\): apt-get install iproute2 nftables conntrack ipvsadm util-linux procps/);
    expect(first.stdout).toMatch(/skipped \(--root .*\): useradd --system trellis/);
    expect(first.stdout).toMatch(/skipped \(--root .*\): systemctl daemon-reload/);

    const installed = listTree(root);
    expect(readFileSync(join(root, 'usr/local/lib/trellis/trellis'), 'utf8')).toBe(readFileSync(artifact, 'utf8'));
    expect(readFileSync(join(root, 'usr/local/bin/trellis'), 'utf8')).toMatch(/^exec \S*node \/usr\/local\/lib\/trellis\/trellis "\$@"$/m);
    expect(mode('usr/local/bin/trellis')).toBe('755');
    for (const unit of ['trellis-manager.service', 'trellis-agent.service']) {
      expect(readFileSync(join(root, 'etc/systemd/system', unit), 'utf8')).toContain('ExecStart=/usr/local/bin/trellis ');
    }
    for (const dir of ['var/lib/trellis/manager', 'var/lib/trellis/admin', 'var/lib/trellis/agent', 'var/lib/trellis/agent/tls']) expect(mode(dir)).toBe('700');
    for (const config of ['etc/trellis/manager.yaml', 'etc/trellis/agent.yaml']) expect(mode(config)).toBe('640');

    const second = install('--artifact', artifact);
    expect(second.status).toBe(0);
    expect(listTree(root)).toEqual(installed);

    const removed = install('--uninstall');
    expect(removed.stderr).toBe('');
    expect(removed.status).toBe(0);
    expect(readdirSync(root)).toEqual([]);
  });

  test('refuses an artifact that does not match its checksum, and installs nothing', () => {
    const artifact = standInArtifact(join(work, 'a'), 'version-a');
    writeFileSync(artifact, readFileSync(artifact, 'utf8') + '// changed after release\n');
    const run = install('--artifact', artifact);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/sha256 .* but .*trellis\.sha256 says/);
    expect(readdirSync(root)).toEqual([]);

    rmSync(`${artifact}.sha256`);
    expect(install('--artifact', artifact).stderr).toMatch(/no checksum .*trellis\.sha256/);
    expect(readdirSync(root)).toEqual([]);
  });

  test('an upgrade installs the new artifact and keeps data, certificates and edited config files', () => {
    install('--artifact', standInArtifact(join(work, 'a'), 'version-a'));
    const kept: Record<string, string> = {
      'var/lib/trellis/manager/raft/00000001.log': 'raft entries',
      'var/lib/trellis/manager/tls/node.key': 'manager key',
      'var/lib/trellis/agent/tls/node.crt': 'agent certificate',
      'var/lib/trellis/admin/admin.key': 'admin key',
      'etc/trellis/agent.yaml': 'node: "edited-by-the-admin"\n',
    };
    for (const [path, content] of Object.entries(kept)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    }

    const b = standInArtifact(join(work, 'b'), 'version-b');
    const upgrade = install('--artifact', b);
    expect(upgrade.status).toBe(0);
    expect(upgrade.stdout).toMatch(/upgraded \/usr\/local\/lib\/trellis\/trellis .*data, certificates and config kept/);
    expect(readFileSync(join(root, 'usr/local/lib/trellis/trellis'), 'utf8')).toBe(readFileSync(b, 'utf8'));
    for (const [path, content] of Object.entries(kept)) expect(readFileSync(join(root, path), 'utf8')).toBe(content);
    expect(mode('var/lib/trellis/manager')).toBe('700');
  });

  test('a given config file never replaces an existing one: it is put beside it as .new', () => {
    const artifact = standInArtifact(join(work, 'a'), 'version-a');
    const config = join(work, 'agent.yaml');
    writeFileSync(config, 'node: "n1"\n');
    install('--artifact', artifact, '--agent-config', config);
    expect(readFileSync(join(root, 'etc/trellis/agent.yaml'), 'utf8')).toBe('node: "n1"\n');

    writeFileSync(config, 'node: "n2"\n');
    const again = install('--artifact', artifact, '--agent-config', config);
    expect(again.stdout).toContain('kept /etc/trellis/agent.yaml');
    expect(readFileSync(join(root, 'etc/trellis/agent.yaml'), 'utf8')).toBe('node: "n1"\n');
    expect(readFileSync(join(root, 'etc/trellis/agent.yaml.new'), 'utf8')).toBe('node: "n2"\n');
  });

  test('--uninstall removes the kernel objects through the installed artifact, by the advertise address of agent.yaml, before any file', () => {
    const log = join(work, 'calls');
    const config = join(work, 'agent.yaml');
    writeFileSync(config, 'node: "w1"\nadvertise-addr: "198.18.9.9"  # the underlay address\n');
    install('--artifact', standInArtifact(join(work, 'a'), 'installed-copy'), '--agent-config', config);

    // --root alone is another machine's tree: its kernel is not this one's.
    const skipped = runScript(INSTALL_SH, ['--root', root, '--uninstall'], { ...process.env, TRELLIS_STANDIN_LOG: log, TRELLIS_STANDIN_FAIL: '' });
    expect(skipped.stdout).toMatch(/skipped \(--root .*\): removing the agent's kernel objects: trellis agent --remove-all --node w1 --advertise-addr 198\.18\.9\.9/);
    expect(existsSync(log)).toBe(false);

    install('--artifact', standInArtifact(join(work, 'a'), 'installed-copy'), '--agent-config', config);
    const failing = runScript(INSTALL_SH, ['--root', root, '--uninstall', '--remove-kernel-objects'], { ...process.env, TRELLIS_STANDIN_LOG: log, TRELLIS_STANDIN_FAIL: '1' });
    expect(failing.status).toBe(1);
    expect(failing.stderr).toContain('--remove-all failed');
    // Nothing removed, so running --uninstall again can finish the job.
    expect(existsSync(join(root, 'usr/local/lib/trellis/trellis'))).toBe(true);

    const removed = runScript(INSTALL_SH, ['--root', root, '--uninstall', '--remove-kernel-objects'], { ...process.env, TRELLIS_STANDIN_LOG: log, TRELLIS_STANDIN_FAIL: '' });
    expect(removed.status).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n').at(-1)).toBe(
      `installed-copy agent --remove-all --node w1 --advertise-addr 198.18.9.9 --state-dir ${root}/var/lib/trellis/agent`,
    );
    expect(readdirSync(root)).toEqual([]);
  });

  test('--prefix puts the artifact and wrapper elsewhere, and the units run that wrapper', () => {
    const artifact = standInArtifact(join(work, 'a'), 'version-a');
    expect(install('--artifact', artifact, '--prefix', '/opt/trellis').status).toBe(0);
    expect(existsSync(join(root, 'opt/trellis/lib/trellis/trellis'))).toBe(true);
    expect(readFileSync(join(root, 'etc/systemd/system/trellis-agent.service'), 'utf8')).toContain('ExecStart=/opt/trellis/bin/trellis agent');
    expect(install('--uninstall', '--prefix', '/opt/trellis').status).toBe(0);
    expect(readdirSync(root)).toEqual([]);
  });
});

const repoRoot = findRepoRoot(__dirname);
const history = previousReleaseCommit(repoRoot);
const describeWithHistory = 'commit' in history ? describe : describe.skip;

describeWithHistory(`install.sh of this release over the previous one (${'commit' in history ? history.commit.slice(0, 12) : history.unavailable})`, () => {
  const exec = promisify(execFile);
  /** The installed artifact run by node, as the wrapper runs it, its code cache kept in the test's directory. */
  const installed = (args: string[]) =>
    exec(process.execPath, [join(root, 'usr/local/lib/trellis/trellis'), ...args], { env: { ...process.env, XDG_CACHE_HOME: join(work, 'cache') }, timeout: 30_000 }).then((r) => r.stdout);

  test('keeps the data and certificates the previous release made, and the new release runs on them', async () => {
    const previous = previousRelease(repoRoot);
    if ('unavailable' in previous) throw new Error(previous.unavailable);
    const next = await buildRelease(repoRoot, join(work, 'next'));
    expect(install('--artifact', previous.artifact).status).toBe(0);

    // The previous release's manager makes a cluster and a network; its state and certificates go where install.sh made room for them.
    const made = await ManagerProcess.start(join(work, 'n'), join(root, 'usr/local/lib/trellis/trellis'), PREDATES_GOSSIP);
    const cli = (manager: ManagerProcess, args: string[]) => installed(['--manager', manager.address, '--tls-dir', manager.adminDir, ...args]);
    await cli(made, ['network', 'create', '--subnet', '10.77.0.0/24', 'made-by-n']);
    await made.stop();
    cpSync(join(work, 'n', 'data'), join(root, 'var/lib/trellis/manager'), { recursive: true });
    cpSync(join(work, 'n', 'admin'), join(root, 'var/lib/trellis/admin'), { recursive: true });
    const state = listTree(join(root, 'var/lib/trellis'));
    expect(state.some((entry) => entry.startsWith('manager/tls/'))).toBe(true);

    const upgrade = install('--artifact', next.artifact);
    expect(upgrade.status).toBe(0);
    expect(upgrade.stdout).toMatch(/upgraded \/usr\/local\/lib\/trellis\/trellis .*data, certificates and config kept/);
    expect(listTree(join(root, 'var/lib/trellis'))).toEqual(state);

    // The new artifact, started on what was kept (seen through links named as ManagerProcess wants), answers with the old cluster's network.
    mkdirSync(join(work, 'n1'));
    symlinkSync(join(root, 'var/lib/trellis/manager'), join(work, 'n1', 'data'));
    symlinkSync(join(root, 'var/lib/trellis/admin'), join(work, 'n1', 'admin'));
    const upgraded = await ManagerProcess.start(join(work, 'n1'), join(root, 'usr/local/lib/trellis/trellis'));
    try {
      const versions = JSON.parse(await cli(upgraded, ['version', '--format', 'json'])) as { client: { checksum: string }; manager: { checksum: string; commit: string } };
      expect(versions.manager.checksum).toBe(`sha256:${next.sha256}`);
      expect(versions.manager.commit).not.toBe(previous.commit);
      expect((JSON.parse(await cli(upgraded, ['network', 'ls', '--format', 'json'])) as Array<{ name: string }>).map((n) => n.name)).toEqual(['made-by-n']);
    } finally {
      await upgraded.stop();
    }
  }, 600_000);
});
