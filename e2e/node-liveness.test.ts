import { spawnSync } from 'node:child_process';
import { eventually, lab, labDown, labUp, leaderHost, trellisJson, type LabState } from './support/lab-driver';

interface NodeRow {
  name: string;
  status: string;
}
function statusOf(name: string): string | undefined {
  return trellisJson<NodeRow[]>('m2', ['node', 'ls', '--format', 'json']).find((n) => n.name === name)?.status;
}

describe('node liveness with 3 managers', () => {
  let state: LabState;

  beforeAll(() => {
    state = labUp(3, 2);
  });
  afterAll(() => labDown());

  it('marks a killed agent down, and ready again once it is back', async () => {
    const killedAt = Date.now();
    lab(['kill', 'a2']);
    await eventually(() => statusOf('a2') === 'NODE_STATUS_DOWN', 'a2 marked down');
    // Reported, not asserted: the goal is under 3 s (Swarm: 10.5 s).
    process.stdout.write(`killed agent marked down after ${Date.now() - killedAt} ms (CLI polling included)\n`);
    expect(statusOf('a1')).toBe('NODE_STATUS_READY');

    lab(['start', 'a2']);
    await eventually(() => statusOf('a2') === 'NODE_STATUS_READY', 'a2 ready again');
  });

  it('marks an agent cut off from the underlay down once its heartbeats stop, and ready when it is back', async () => {
    // The lab's own link for a2 in its underlay namespace: the agent lives on, silent.
    const cut = (state: 'down' | 'up') => {
      const result = spawnSync('ip', ['-n', 'trlab-underlay', 'link', 'set', 'trlab-a2', state]);
      if (result.status !== 0) throw new Error(`ip link set trlab-a2 ${state}: ${result.stderr.toString()}`);
    };
    const cutAt = Date.now();
    cut('down');
    try {
      await eventually(() => statusOf('a2') === 'NODE_STATUS_DOWN', 'a2 marked down after missed heartbeats');
      process.stdout.write(`agent cut off from the underlay marked down after ${Date.now() - cutAt} ms (goal: 3 missed 1 s heartbeats)\n`);
    } finally {
      cut('up');
    }
    await eventually(() => statusOf('a2') === 'NODE_STATUS_READY', 'a2 ready again after the link is back', 30_000);
  });

  it('keeps every agent in session when the leading manager is killed', async () => {
    const leader = leaderHost(state, 'm2');
    lab(['kill', leader]);
    const survivor = state.hosts.find((h) => h.role === 'manager' && h.name !== leader)?.name ?? 'm2';
    await eventually(
      () => ['a1', 'a2'].every((agent) => trellisJson<NodeRow[]>(survivor, ['node', 'ls', '--format', 'json']).some((n) => n.name === agent && n.status === 'NODE_STATUS_READY')),
      'both agents in session with the new leader',
    );
    lab(['start', leader]);
  });
});
