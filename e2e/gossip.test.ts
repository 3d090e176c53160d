import { networkNetnsName } from '../agent/kernel/names';
import type { Network } from '../proto/gen/trellis/v1/types';
import { ipOf, pingFromNamespace, pingFromSandbox, sandboxNamespace } from './support/overlay';
import { eventually, hostMetric, kernelJson, lab, labDown, labHost, labUp, trellisJson, trellisOk, type LabState } from './support/lab-driver';

/*
 * Issue #16 through the CLI: agents that gossip (lab up --gossip) keep their overlay working while
 * every manager is down, follow a node that comes back on another address, and the managers'
 * return changes nothing in a kernel that already agrees. A node removed with `node rm` leaves
 * every table.
 */

const subnet = '10.233.0.0/24';
const network = 'hive';
/** a1's second underlay address, taken when its agent restarts with it. */
const movedAddress = '198.18.0.111';

interface FdbJson {
  mac: string;
  dst?: string;
}

interface NodeRow {
  name: string;
  status: string;
}

describe('gossip between agents (3 managers, 3 agents, lab up --gossip)', () => {
  let state: LabState;
  let vni = 0;
  const managers = (): string[] => state.hosts.filter((host) => host.role === 'manager').map((host) => host.name);
  /** Where `host`'s kernel sends frames for `mac` on the network: the VTEP its FDB names. */
  const fdbDestination = (host: string, mac: string): string | undefined =>
    kernelJson<FdbJson[]>(host, ['bridge', '-n', networkNetnsName(labHost(state, host).address, vni), 'fdb', 'show']).find((entry) => entry.mac === mac && entry.dst)?.dst;
  const macOf = (sandbox: string): string => {
    const found = trellisJson<Network>('m1', ['network', 'inspect', network]).endpoints.find((endpoint) => endpoint.sandboxName === sandbox);
    if (!found) throw new Error(`no endpoint of ${sandbox} on ${network}`);
    return found.mac;
  };
  const everyAgentReady = (): boolean =>
    trellisJson<NodeRow[]>('m1', ['node', 'ls', '--format', 'json']).filter((node) => node.status === 'NODE_STATUS_READY').length === 3;
  const writesOn = (host: string): number => hostMetric(labHost(state, host), 'trellis_kernel_writes_total');

  beforeAll(() => {
    state = labUp(3, 3, { gossip: true });
  });
  afterAll(() => labDown());

  it('programs a remote endpoint learned from its owner, and the managers count it ready', async () => {
    trellisOk('m1', ['network', 'create', '--driver', 'overlay', '--subnet', subnet, network]);
    vni = trellisJson<Network>('m1', ['network', 'inspect', network]).vni;
    for (const [sandbox, node] of [['bee', 'a2'], ['wasp', 'a3'], ['ant', 'a1']] as const) {
      trellisOk('m1', ['sandbox', 'create', sandbox, '--node', node]);
      trellisOk('m1', ['network', 'connect', network, sandbox]);
    }
    await eventually(
      () => trellisJson<Network>('m1', ['network', 'inspect', network]).endpoints.filter((endpoint) => endpoint.ready).length === 3,
      'every endpoint ready',
      30_000,
    );
    expect(pingFromSandbox('a2', 'bee', ipOf('ant', network))).toBe(true);
    expect(fdbDestination('a2', macOf('ant'))).toBe(labHost(state, 'a1').address);
    // a2 learned ant from a1 itself: its view from the managers holds only its own endpoint there.
    expect(hostMetric(labHost(state, 'a2'), 'trellis_gossip_entries')).toBeGreaterThanOrEqual(2);
  });

  it('keeps the overlay working with every manager down, and follows a node that restarts on another address', async () => {
    const antMac = macOf('ant');
    const antIp = ipOf('ant', network);
    // Named while the managers can still answer the CLI.
    const bee = sandboxNamespace('bee');
    for (const name of managers()) lab(['stop', name]);
    expect(pingFromNamespace('a2', bee, antIp)).toBe(true);

    lab(['stop', 'a1']);
    lab(['start', 'a1', '--advertise-addr', movedAddress]);
    // Every member follows: a2 and a3 alike (the step after counts their writes).
    await eventually(
      () => fdbDestination('a2', antMac) === movedAddress && fdbDestination('a3', antMac) === movedAddress,
      "a2's and a3's entries for ant following a1 to its new address, through gossip",
      30_000,
    );
    await eventually(() => pingFromNamespace('a2', bee, antIp), 'bee reaching ant again', 30_000);
    // a1 still owns what it made before the move: no network namespace under another owner tag.
    expect(kernelJson<Array<{ name: string }>>('a1', ['ip', 'netns', 'list']).map((namespace) => namespace.name)).not.toContain(networkNetnsName(movedAddress, vni));
  });

  it('changes nothing in a kernel that already agrees when the managers come back', async () => {
    const before = { a1: writesOn('a1'), a2: writesOn('a2'), a3: writesOn('a3') };
    for (const name of managers()) lab(['start', name]);
    await eventually(everyAgentReady, 'every agent in session again', 60_000);
    // The managers now know a1's new address; a2 and a3 had it from gossip already.
    await eventually(
      () => trellisJson<Network>('m1', ['network', 'inspect', network]).endpoints.every((endpoint) => endpoint.ready),
      'every endpoint ready again',
      30_000,
    );
    expect({ a1: writesOn('a1'), a2: writesOn('a2'), a3: writesOn('a3') }).toEqual(before);
    expect(pingFromSandbox('a2', 'bee', ipOf('ant', network))).toBe(true);
  });

  it('drops what an owner deleted while its agent was down, then refuses the removed node’s gossip', async () => {
    const waspMac = macOf('wasp');
    expect(fdbDestination('a2', waspMac)).toBe(labHost(state, 'a3').address);
    // The owner cannot gossip the delete: the leader tells the members its digest, their gossip
    // disagrees, and they program the managers' answer instead.
    lab(['stop', 'a3']);
    trellisOk('m1', ['sandbox', 'rm', 'wasp']);
    await eventually(() => fdbDestination('a2', waspMac) === undefined && fdbDestination('a1', waspMac) === undefined, "wasp's entries gone from a1 and a2", 30_000);
    trellisOk('m1', ['node', 'rm', '--force', 'a3']);
    await eventually(() => hostMetric(labHost(state, 'a1'), 'trellis_gossip_members') === 1, 'a1 counting a2 alone as a member');
    // a3's agent comes back, refused by the managers, and starts from the view it saved, which
    // still has wasp: it announces it, and no member lets it in.
    lab(['start', 'a3']);
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      expect([fdbDestination('a1', waspMac), fdbDestination('a2', waspMac)]).toEqual([undefined, undefined]);
      expect(hostMetric(labHost(state, 'a1'), 'trellis_gossip_peers')).toBeLessThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(pingFromSandbox('a2', 'bee', ipOf('ant', network))).toBe(true);
  });
});
