import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOY_DIR, tempDir } from './throwaway-root';

const UNITS = ['trellis-manager.service', 'trellis-agent.service'];

/** The unit's [Service] settings, each key with every value it was given. */
function settings(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of readFileSync(join(DEPLOY_DIR, unit), 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) found.set(match[1], [...(found.get(match[1]) ?? []), match[2]]);
  }
  return found;
}

/**
 * systemd is installed here but is not PID 1, so `systemd-analyze verify` is what can run. It wants
 * the ExecStart binary to exist and the units the service depends on (sysinit.target...): a
 * throwaway root gets a copy of the system's units and an executable at /usr/local/bin/trellis.
 */
function verify(unitTexts: Record<string, string>): { status: number | null; output: string } {
  const root = tempDir('units');
  try {
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/local/bin/trellis'), '#!/bin/sh\n');
    chmodSync(join(root, 'usr/local/bin/trellis'), 0o755);
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    const unitDir = join(root, 'etc/systemd/system');
    mkdirSync(unitDir, { recursive: true });
    for (const [name, text] of Object.entries(unitTexts)) writeFileSync(join(unitDir, name), text);
    const run = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...Object.keys(unitTexts).map((name) => join(unitDir, name))], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const unitText = (name: string) => readFileSync(join(DEPLOY_DIR, name), 'utf8');

describe('deploy/*.service', () => {
  test('systemd-analyze verify passes without a single warning', () => {
    const result = verify(Object.fromEntries(UNITS.map((name) => [name, unitText(name)])));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('the check catches a misspelt setting, so its silence above means something', () => {
    const result = verify({ 'trellis-agent.service': unitText('trellis-agent.service').replace('Restart=on-failure', 'Restart=onfailure') });
    expect(result.output).toContain("Failed to parse service restart specifier, ignoring: onfailure");
  });

  test('both units are ready only when the daemon says so, restart on failure and wait for the network', () => {
    for (const unit of UNITS) {
      const set = settings(unit);
      expect([unit, set.get('Type'), set.get('NotifyAccess'), set.get('Restart')]).toEqual([unit, ['notify'], ['all'], ['on-failure']]);
      expect(set.get('After')?.[0]).toContain('network-online.target');
      expect(set.get('Wants')).toEqual(['network-online.target']);
      expect(set.get('ExecStart')?.[0]).toMatch(/^\/usr\/local\/bin\/trellis (manager|agent) --config \/etc\/trellis\/(manager|agent)\.yaml$/);
    }
  });

  test('the manager runs as trellis with no capability; the agent as root with NET_ADMIN, SYS_ADMIN and SYS_PTRACE only', () => {
    const manager = settings('trellis-manager.service');
    expect([manager.get('User'), manager.get('CapabilityBoundingSet'), manager.get('ProtectSystem')]).toEqual([['trellis'], [''], ['strict']]);
    const agent = settings('trellis-agent.service');
    expect([agent.get('User'), agent.get('CapabilityBoundingSet'), agent.get('NoNewPrivileges')]).toEqual([
      ['root'],
      ['CAP_NET_ADMIN CAP_SYS_ADMIN CAP_SYS_PTRACE'],
      ['yes'],
    ]);
  });

  test('the agent gets no mount namespace of its own, in which the /run/netns names it mounts would stay', () => {
    // Each of these makes systemd run the unit in a mount namespace whose mounts do not propagate back.
    const privateMounts = ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'PrivateMounts', 'ReadWritePaths', 'ReadOnlyPaths',
      'InaccessiblePaths', 'BindPaths', 'TemporaryFileSystem', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs',
      'ProtectControlGroups', 'ProtectProc', 'ProcSubset', 'StateDirectory', 'RootDirectory', 'MountAPIVFS'];
    const agent = settings('trellis-agent.service');
    expect(privateMounts.filter((key) => agent.has(key))).toEqual([]);
  });
});
