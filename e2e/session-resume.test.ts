import type { Network } from '../proto/gen/trellis/v1/types';
import { eventually, lab, labDown, labUp, leaderHost, hostMetric, trellisJson, trellisOk, type LabState } from './support/lab-driver';

const subnet = '10.232.0.0/24';
const resyncBytes = ['trellis_dispatcher_view_bytes_total', 'kind="resync"'] as const;
const deltaBytes = ['trellis_dispatcher_view_bytes_total', 'kind="delta"'] as const;

interface NodeRow {
  name: string;
  status: string;
}

function everyAgentReady(from: string): boolean {
  const rows = trellisJson<NodeRow[]>(from, ['node', 'ls', '--format', 'json']);
  return ['a1', 'a2'].every((agent) => rows.some((row) => row.name === agent && row.status === 'NODE_STATUS_READY'));
}

function readySandboxes(): string[] {
  const network = trellisJson<Network>('a1', ['network', 'inspect', 'green', '--format', 'json']);
  return network.endpoints.filter((endpoint) => endpoint.ready).map((endpoint) => endpoint.sandboxName).sort();
}

/** Connects a new sandbox on a1 and waits until inspect says every agent has programmed it. */
async function attachAndWaitReady(name: string): Promise<void> {
  trellisOk('a1', ['sandbox', 'create', name, '--node', 'a1']);
  trellisOk('a1', ['network', 'connect', 'green', name]);
  await eventually(() => readySandboxes().includes(name), `${name} ready`, 30_000);
}

describe('agent sessions across manager changes (3 managers, 2 agents)', () => {
  let state: LabState;
  const host = (name: string) => {
    const found = state.hosts.find((h) => h.name === name);
    if (!found) throw new Error(`no lab host ${name}`);
    return found;
  };

  beforeAll(() => {
    state = labUp(3, 2);
  });
  afterAll(() => labDown());

  it('shows an endpoint ready once every agent hosting its network has programmed it', async () => {
    trellisOk('a1', ['network', 'create', '--driver', 'overlay', '--subnet', subnet, 'green']);
    trellisOk('a1', ['sandbox', 'create', 'east', '--node', 'a1']);
    trellisOk('a1', ['sandbox', 'create', 'west', '--node', 'a2']);
    trellisOk('a1', ['network', 'connect', 'green', 'east']);
    trellisOk('a1', ['network', 'connect', 'green', 'west']);
    await eventually(() => readySandboxes().join() === 'east,west', 'both endpoints ready', 30_000);
  });

  it('resumes sessions with the changes since their revision after a leader change: no full resync', async () => {
    const old = leaderHost(state);
    lab(['kill', old]);
    const survivor = state.hosts.find((h) => h.role === 'manager' && h.name !== old)?.name ?? '';
    await eventually(() => everyAgentReady(survivor), 'both agents in session with the new leader', 30_000);
    await attachAndWaitReady('north');
    const leader = host(leaderHost(state));
    expect(hostMetric(leader, ...resyncBytes)).toBe(0);
    expect(hostMetric(leader, ...deltaBytes)).toBeGreaterThan(0);
    lab(['start', old]);
  });

  it('resumes sessions with the changes since their revision after every manager restarts: no full resync', async () => {
    const managers = state.hosts.filter((h) => h.role === 'manager').map((h) => h.name);
    for (const name of managers) lab(['stop', name]);
    for (const name of managers) lab(['start', name]);
    await eventually(() => everyAgentReady('a1'), 'both agents in session after the restart', 60_000);
    await attachAndWaitReady('south');
    const leader = host(leaderHost(state));
    expect(hostMetric(leader, ...resyncBytes)).toBe(0);
    expect(hostMetric(leader, ...deltaBytes)).toBeGreaterThan(0);
    expect(readySandboxes()).toEqual(['east', 'north', 'south', 'west']);
  });
});
