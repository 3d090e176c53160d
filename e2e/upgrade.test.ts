/**
 * The upgrade path, in a lab from release artifacts: a cluster of the previous release (N, built
 * from the commit packaging/previous-release-commit names, by that commit's own `npm run release`) takes
 * a manager of this tree's release (N+1) that joins it afresh, then a rolling restart of every
 * other manager and every agent onto N+1, one host at a time, with writes acknowledged while each
 * host is down. Afterwards every acknowledged write is there and sandboxes on both hosts ping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { previousRelease, previousReleaseCommit } from '../packaging/previous-release';
import { buildRelease } from '../packaging/release';
import type { Network, Sandbox } from '../proto/gen/trellis/v1/types';
import { findRepoRoot } from './lab/context';
import { MANAGER_PORT } from './lab/plan';
import { eventually, lab, labDown, labHost, labUp, leaderHost, trellisJson, trellisOk, type LabState } from './support/lab-driver';
import { ipOf, pingFromSandbox } from './support/overlay';

const repoRoot = findRepoRoot(__dirname);
const history = previousReleaseCommit(repoRoot);
const BOUND_MS = 60_000;

jest.setTimeout(180_000);

interface BuildInfo {
  commit: string;
  checksum: string;
}
interface ManagerList {
  managers: Array<{ id: string; address: string; role: string }>;
  leaderId: string;
}

/** Every write the cluster acknowledged, to be found again after the roll. */
class AcknowledgedWrites {
  readonly networks: string[] = [];
  readonly sandboxes = new Map<string, { node: string; networks: string[] }>();

  network(name: string, subnet: string): void {
    trellisOk('a1', ['network', 'create', '--subnet', subnet, name]);
    this.networks.push(name);
  }

  sandbox(name: string, node: string, networks: string[]): void {
    trellisOk('a1', ['sandbox', 'create', name, '--node', node]);
    this.sandboxes.set(name, { node, networks: [] });
    for (const network of networks) {
      trellisOk('a1', ['network', 'connect', network, name]);
      this.sandboxes.get(name)?.networks.push(network);
    }
  }

  /** One step's writes: its own network, and a sandbox on it and on the first network. */
  step(label: string, index: number, node: string): void {
    this.network(`net-${label}`, `10.250.${index}.0/24`);
    this.sandbox(`sb-${label}`, node, ['net-before', `net-${label}`]);
  }
}

if ('unavailable' in history) {
  test.skip(`a rolling upgrade from the previous release (skipped: ${history.unavailable})`, () => undefined);
} else {
  describe(`a rolling upgrade from the previous release (${history.commit.slice(0, 12)}) to this tree's`, () => {
    let state: LabState;
    let next: BuildInfo & { artifact: string };
    const buildDir = mkdtempSync(join(tmpdir(), 'trellis-upgrade-'));
    const writes = new AcknowledgedWrites();
    const managers = () => state.hosts.filter((h) => h.role === 'manager');
    const managerAddress = (host: string) => `${labHost(state, host).address}:${MANAGER_PORT}`;
    /** The build a manager runs, as it answers GetVersion itself. */
    const buildOf = (host: string) => trellisJson<{ manager: BuildInfo }>('a1', ['--manager', managerAddress(host), 'version', '--format', 'json']).manager;
    const managerList = () => trellisJson<ManagerList>('a1', ['manager', 'ls', '--format', 'json']);
    const everyManagerVotes = () => {
      const { managers: members } = managerList();
      return members.length === 3 && members.every((m) => m.role === 'voter');
    };
    const hasLeaderBesides = (host: string) => {
      const { managers: members, leaderId } = managerList();
      return members.some((m) => m.id === leaderId && m.address !== managerAddress(host));
    };
    const agentReady = (name: string) =>
      trellisJson<Array<{ name: string; status: string }>>('a1', ['node', 'ls', '--format', 'json']).some((n) => n.name === name && n.status === 'NODE_STATUS_READY');

    beforeAll(async () => {
      const previous = previousRelease(repoRoot);
      if ('unavailable' in previous) throw new Error(previous.unavailable);
      const built = await buildRelease(repoRoot, buildDir);
      next = { artifact: built.artifact, commit: '', checksum: `sha256:${built.sha256}` };
      state = labUp(3, 2, { fromRelease: previous.artifact });
    }, 600_000);
    afterAll(() => {
      try {
        labDown();
      } finally {
        rmSync(buildDir, { recursive: true, force: true });
      }
    });

    it('starts a cluster of the previous release, and writes to it', async () => {
      for (const manager of managers()) expect(buildOf(manager.name).commit).toBe(history.commit);
      writes.network('net-before', '10.250.0.0/24');
      writes.sandbox('sb-before-1', 'a1', ['net-before']);
      writes.sandbox('sb-before-2', 'a2', ['net-before']);
      await eventually(() => pingFromSandbox('a1', 'sb-before-1', ipOf('sb-before-2', 'net-before')), 'the sandboxes of N ping', BOUND_MS);
    });

    it('takes a manager of the new release that joins it afresh, with writes while it is out', async () => {
      const leader = leaderHost(state);
      const joiner = managers().find((m) => m.name !== leader)?.name ?? '';
      const member = managerList().managers.find((m) => m.address === managerAddress(joiner));
      trellisOk('a1', ['manager', 'leave', '--id', member?.id ?? '']);
      lab(['stop', joiner]);
      // A new manager: nothing of the old member's state, only its config file (and the manager join token it names).
      const dataDir = labHost(state, joiner).config?.settings.find(([key]) => key === 'data-dir')?.[1] ?? '';
      expect(dataDir).toContain(state.labDir);
      rmSync(dataDir, { recursive: true, force: true });
      writes.step('joining', 1, 'a1');

      lab(['start', joiner, '--from-release', next.artifact]);
      await eventually(everyManagerVotes, `${joiner} (new release) voting among the managers of the previous one`, BOUND_MS);
      expect(managerList().managers.find((m) => m.address === managerAddress(joiner))?.id).not.toBe(member?.id);
      expect(buildOf(joiner).checksum).toBe(next.checksum);
      next.commit = buildOf(joiner).commit;
      expect(next.commit).not.toBe(history.commit);
      for (const other of managers().filter((m) => m.name !== joiner)) expect(buildOf(other.name).commit).toBe(history.commit);
      writes.step('mixed', 2, 'a2');
    });

    it('rolls every other manager onto the new release, the leader last, its data kept, with writes while each is down', async () => {
      const leader = leaderHost(state);
      const rest = managers().filter((m) => buildOf(m.name).checksum !== next.checksum);
      const order = [...rest.filter((m) => m.name !== leader), ...rest.filter((m) => m.name === leader)];
      expect(order.map((m) => m.name)).toHaveLength(2);
      for (const [i, manager] of order.entries()) {
        lab(['stop', manager.name]);
        await eventually(() => hasLeaderBesides(manager.name), `a leader other than ${manager.name}`, BOUND_MS);
        writes.step(`${manager.name}-down`, 3 + i, i % 2 === 0 ? 'a1' : 'a2');
        lab(['start', manager.name, '--from-release', next.artifact]);
        await eventually(() => everyManagerVotes() && buildOf(manager.name).checksum === next.checksum, `${manager.name} back on the new release`, BOUND_MS);
      }
      for (const manager of managers()) expect(buildOf(manager.name)).toEqual(expect.objectContaining({ commit: next.commit, checksum: next.checksum }));
    });

    it('rolls the agents, one at a time, with a sandbox placed on each while its agent is down', async () => {
      for (const [i, agent] of ['a1', 'a2'].entries()) {
        lab(['stop', agent]);
        writes.step(`${agent}-down`, 5 + i, agent);
        lab(['start', agent, '--from-release', next.artifact]);
        await eventually(() => agentReady(agent), `${agent} back in session on the new release`, BOUND_MS);
      }
      const status = JSON.parse(lab(['status']).stdout) as LabState;
      for (const host of status.hosts) expect(host.command[1]).toContain(next.checksum.slice('sha256:'.length, 'sha256:'.length + 16));
    });

    it('keeps every acknowledged write: each network, each sandbox on its node, each endpoint', () => {
      const networks = trellisJson<Network[]>('a1', ['network', 'ls', '--format', 'json']).map((n) => n.name);
      expect(networks.sort()).toEqual([...writes.networks].sort());
      const sandboxes = trellisJson<Sandbox[]>('a1', ['sandbox', 'ls', '--format', 'json']);
      const found = Object.fromEntries(sandboxes.map((s) => [s.name, { node: s.node, networks: s.endpoints.map((e) => e.networkName).sort() }]));
      const wanted = Object.fromEntries([...writes.sandboxes].map(([name, s]) => [name, { node: s.node, networks: [...s.networks].sort() }]));
      expect(found).toEqual(wanted);
      expect(Object.keys(wanted)).toHaveLength(2 + 6);
    });

    it('carries traffic between the hosts, for sandboxes made before and during the roll', async () => {
      const onHost = (node: string) => [...writes.sandboxes].filter(([, s]) => s.node === node).map(([name]) => name);
      for (const [from, to] of [
        ['a1', 'a2'],
        ['a2', 'a1'],
      ] as const) {
        for (const target of onHost(to)) {
          await eventually(() => pingFromSandbox(from, onHost(from)[0] ?? '', ipOf(target, 'net-before')), `${onHost(from)[0]} on ${from} pings ${target} on ${to}`, BOUND_MS);
        }
      }
    });
  });
}
