import { networkNetnsName } from '../../agent/kernel/names';
import {
  cliCommand,
  cliDir,
  execEnvironment,
  inNamespace,
  isLabNamespace,
  isLabNetworkNamespace,
  isLabSandboxLoopbackAlias,
  isSandboxNamespace,
  labSandboxFileLedgers,
  nodeListCommand,
  planLab,
  releaseWrapper,
} from './plan';

const base = { repoRoot: '/repo', labDir: '/repo/.lab', nodePath: '/usr/bin/node' };

describe('planLab', () => {
  const plan = planLab({ ...base, managers: 2, agents: 3 });

  it('names managers m1..mN from 198.18.0.1 and agents a1..aM from 198.18.0.11', () => {
    expect(plan.hosts.map((h) => [h.name, h.role, h.namespace, h.address])).toEqual([
      ['m1', 'manager', 'trlab-m1', '198.18.0.1'],
      ['m2', 'manager', 'trlab-m2', '198.18.0.2'],
      ['a1', 'agent', 'trlab-a1', '198.18.0.11'],
      ['a2', 'agent', 'trlab-a2', '198.18.0.12'],
      ['a3', 'agent', 'trlab-a3', '198.18.0.13'],
    ]);
    expect(plan.manager).toBe('198.18.0.1:4240,198.18.0.2:4240');
  });

  it('keeps every link name within the kernel limit of 15 characters', () => {
    const largest = planLab({ ...base, managers: 10, agents: 244 });
    for (const host of largest.hosts) expect(host.underlayLink.length).toBeLessThanOrEqual(15);
    expect(largest.hosts.at(-1)?.address).toBe('198.18.0.254');
  });

  it('starts the cluster on the first manager; the others listen on their own address and join it with the manager token from a file', () => {
    expect(plan.hosts[0].command).toEqual([
      '/usr/bin/node', '/repo/dist/cli/main.js',
      'manager', '--listen', '198.18.0.1:4240', '--data-dir', '/repo/.lab/m1/data', '--metrics-listen', '198.18.0.1:4250',
    ]);
    expect(plan.hosts[1].command).toEqual([
      '/usr/bin/node', '/repo/dist/cli/main.js',
      'manager', '--listen', '198.18.0.2:4240', '--data-dir', '/repo/.lab/m2/data', '--metrics-listen', '198.18.0.2:4250',
      '--join', '198.18.0.1:4240', '--join-token-file', '/repo/.lab/m2/join-token',
    ]);
    expect(plan.hosts[1].log).toBe('/repo/.lab/m2/trellis.log');
    expect(plan.hosts.map((h) => h.joinToken?.role)).toEqual([undefined, 'manager', 'worker', 'worker', 'worker']);
    expect(plan.hosts[3].joinToken?.file).toBe('/repo/.lab/a2/join-token');
  });

  it('gives every agent all the managers, the worker token file, a state dir, its eth0 as underlay and a metrics address', () => {
    expect(plan.hosts[3].command).toEqual([
      '/usr/bin/node', '/repo/dist/cli/main.js',
      'agent', '--manager', '198.18.0.1:4240,198.18.0.2:4240', '--join-token-file', '/repo/.lab/a2/join-token', '--state-dir', '/repo/.lab/a2/data',
      '--node', 'a2', '--advertise-addr', '198.18.0.12',
      '--underlay-device', 'eth0', '--metrics-listen', '198.18.0.12:4251',
    ]);
  });

  it('gives agents the resync interval asked for, and managers nothing new', () => {
    const quick = planLab({ ...base, managers: 1, agents: 1, resyncInterval: '2s' });
    expect(quick.hosts[1].command.slice(-2)).toEqual(['--resync-interval', '2s']);
    expect(quick.hosts[0].command).not.toContain('--resync-interval');
  });

  it('gives agents --gossip alone when asked, and refuses it with a release, whose templates have no such setting', () => {
    const gossiping = planLab({ ...base, managers: 1, agents: 1, gossip: true });
    expect(gossiping.hosts[1].command.slice(-1)).toEqual(['--gossip']);
    expect(gossiping.hosts[0].command).not.toContain('--gossip');
    expect(() => planLab({ ...base, managers: 1, agents: 1, gossip: true, release: '/repo/trellis' })).toThrow(/--gossip .* --from-release/);
  });

  it('runs a sleeping stand-in when asked', () => {
    const standIn = planLab({ ...base, managers: 1, agents: 1, standIn: true });
    expect(standIn.hosts.map((h) => h.command)).toEqual([['sleep', 'infinity'], ['sleep', 'infinity']]);
  });

  it('from a release, gives each daemon a config file of its settings instead of flags, the templates\' system paths included', () => {
    const artifact = '/repo/.lab/releases/0123456789abcdef/trellis';
    const fromRelease = planLab({ ...base, managers: 2, agents: 1, resyncInterval: '2s', release: artifact });
    expect(fromRelease.hosts.map((h) => h.command)).toEqual([
      ['/usr/bin/node', artifact, 'manager', '--config', '/repo/.lab/m1/manager.yaml'],
      ['/usr/bin/node', artifact, 'manager', '--config', '/repo/.lab/m2/manager.yaml'],
      ['/usr/bin/node', artifact, 'agent', '--config', '/repo/.lab/a1/agent.yaml'],
    ]);
    const [m1, m2, a1] = fromRelease.hosts;
    expect(m2?.config).toEqual({
      file: '/repo/.lab/m2/manager.yaml',
      template: '/repo/deploy/config/manager.yaml',
      settings: [
        ['listen', '198.18.0.2:4240'], ['data-dir', '/repo/.lab/m2/data'], ['metrics-listen', '198.18.0.2:4250'],
        ['join', '198.18.0.1:4240'], ['join-token-file', '/repo/.lab/m2/join-token'],
        ['admin-dir', '/repo/.lab/admin'],
      ],
    });
    expect(m1?.config?.settings.map(([key]) => key)).toEqual(['listen', 'data-dir', 'metrics-listen', 'admin-dir']);
    // The same settings as the flags of a lab from the build.
    const fromBuild = planLab({ ...base, managers: 2, agents: 1, resyncInterval: '2s' });
    expect(a1?.config?.settings.flatMap(([key, value]) => [`--${key}`, value])).toEqual(fromBuild.hosts[2]?.command.slice(3));
    expect(a1?.config?.template).toBe('/repo/deploy/config/agent.yaml');
    expect(fromBuild.hosts.every((h) => h.config === undefined)).toBe(true);
  });

  it('refuses sizes that do not fit the address plan', () => {
    expect(() => planLab({ ...base, managers: 0, agents: 1 })).toThrow('--managers must be a whole number from 1 to 10');
    expect(() => planLab({ ...base, managers: 11, agents: 1 })).toThrow('--managers');
    expect(() => planLab({ ...base, managers: 1, agents: 245 })).toThrow('--agents must be a whole number from 0 to 244');
    expect(() => planLab({ ...base, managers: 1.5, agents: 1 })).toThrow('--managers');
  });
});

describe('namespace ownership', () => {
  it('claims exactly the names a lab creates', () => {
    for (const name of ['trlab-underlay', 'trlab-m1', 'trlab-a12']) expect(isLabNamespace(name)).toBe(true);
    for (const name of ['trlab-x1', 'trlab-m', 'trlab-m1x', 'xtrlab-m1', 'trlab-underlay2', 'trsb-1']) {
      expect(isLabNamespace(name)).toBe(false);
    }
    expect(isSandboxNamespace('trsb-abc')).toBe(true);
    expect(isSandboxNamespace('trlab-m1')).toBe(false);
  });

  it("claims the network namespaces of every address an agent can have, whatever the lab's size, and no other owner's", () => {
    const largest = planLab({ ...base, managers: 10, agents: 244 });
    for (const agent of largest.hosts.filter((h) => h.role === 'agent')) {
      expect(isLabNetworkNamespace(networkNetnsName(agent.address, 4096))).toBe(true);
    }
    for (const owner of ['198.18.0.1', '198.18.0.10', '198.18.1.11', 'trfw123-h1']) {
      expect(isLabNetworkNamespace(networkNetnsName(owner, 4096))).toBe(false);
    }
    expect(isLabNetworkNamespace('trnw-')).toBe(false);
  });

  it("claims the sandboxes tagged with an agent address of the plan, created or attached, and no other owner's nor untagged ones", () => {
    for (const address of ['198.18.0.11', '198.18.0.254']) {
      expect(isLabSandboxLoopbackAlias(`trellis-owner=${address}`)).toBe(true);
      expect(isLabSandboxLoopbackAlias(`trellis-attached=${address}`)).toBe(true);
    }
    for (const alias of [undefined, '', 'trellis-owner=198.18.0.1', 'trellis-attached=192.0.2.1', '198.18.0.11']) {
      expect(isLabSandboxLoopbackAlias(alias)).toBe(false);
    }
  });

  it("finds the agents' ledgers of /etc/netns directories in their state directories, without a state file", () => {
    expect(labSandboxFileLedgers('/repo/.lab', ['a1', 'm1', 'a12', 'admin', 'state.json'])).toEqual([
      '/repo/.lab/a1/data/sandbox-files',
      '/repo/.lab/a12/data/sandbox-files',
    ]);
  });
});

describe('commands run inside hosts', () => {
  it('enters only the network namespace, through nsenter', () => {
    expect(inNamespace('trlab-a1', ['ping', '-c1', '198.18.0.1'])).toEqual([
      'nsenter', '--net=/run/netns/trlab-a1', '--', 'ping', '-c1', '198.18.0.1',
    ]);
  });

  it('asks the manager for its nodes as JSON, with the lab\'s admin certificate', () => {
    expect(nodeListCommand(cliCommand('/usr/bin/node', '/repo'), '198.18.0.1:4240', '/repo/.lab')).toEqual([
      '/usr/bin/node', '/repo/dist/cli/main.js', '--manager', '198.18.0.1:4240', '--tls-dir', '/repo/.lab/admin', 'node', 'ls', '--format', 'json',
    ]);
  });

  it("runs the lab's release artifact as its CLI, through a wrapper in the lab's bin/ for exec", () => {
    const artifact = '/repo/.lab/releases/0123456789abcdef/trellis';
    expect(nodeListCommand(cliCommand('/usr/bin/node', '/repo', artifact), '198.18.0.1:4240', '/repo/.lab').slice(0, 3)).toEqual(['/usr/bin/node', artifact, '--manager']);
    expect(cliDir('/repo', '/repo/.lab', artifact)).toBe('/repo/.lab/bin');
    expect(releaseWrapper('/usr/bin/node', artifact)).toBe(`#!/bin/sh\n# The lab's trellis: its release artifact, run by node.\nexec /usr/bin/node ${artifact} "$@"\n`);
    expect(releaseWrapper('/opt/my node/node', "/it's/trellis")).toContain(`exec '/opt/my node/node' '/it'\\''s/trellis' "$@"`);
  });

  it('puts the trellis wrapper first on PATH and presets the manager and the admin certificate for exec', () => {
    const env = execEnvironment(cliDir('/repo', '/repo/.lab'), '198.18.0.1:4240', '/repo/.lab', { PATH: '/usr/bin', HOME: '/root' });
    expect(env).toEqual({ PATH: '/repo/bin:/usr/bin', HOME: '/root', TRELLIS_MANAGER: '198.18.0.1:4240', TRELLIS_TLS_DIR: '/repo/.lab/admin' });
  });
});
