import { GossipEntry, GossipMessage } from '../../proto/gen/trellis/v1/gossip';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { GossipAgent, type OwnEndpoint } from './gossip-agent';
import type { GossipMetrics, ManagerDigest, ManagerNetwork } from './model';
import { InProcessNetwork } from './test-transport';

interface Harness {
  agent: GossipAgent;
  counts: Map<string, number>;
  asks: string[];
  changed: string[];
}

const endpoint = (networkId: string, endpointId: string, ip: string, vtep: string): OwnEndpoint => ({ networkId, ...GossipEntry.fromPartial({ endpointId, ip, mac: `02:42:${ip.split('.').join(':')}`, vtep }) });
const A1 = endpoint('n1', 'a1', '10.1.0.2', '198.18.0.1');
const B1 = endpoint('n1', 'b1', '10.1.0.3', '198.18.0.2');
const C2 = endpoint('n2', 'c2', '10.2.0.3', '198.18.0.3');

/** The managers' description of a network's members, each owning `owned`. */
function networkOf(networkId: string, owned: Record<string, OwnEndpoint[]>): ManagerNetwork {
  return { networkId, members: Object.keys(owned).map((nodeId) => ({ nodeId, publicKey: `key-${nodeId}`, vtep: owned[nodeId]?.[0]?.vtep ?? '' })) };
}

/** The leader's digests of a network's members, each owning `owned`, at `revision`. */
function digestsOf(networkId: string, owned: Record<string, OwnEndpoint[]>, revision = 1): ManagerDigest[] {
  return Object.entries(owned).map(([nodeId, endpoints]) => ({ networkId, nodeId, digest: digestOf(endpoints), revision }));
}

const digestOf = (endpoints: OwnEndpoint[]): string => gossipEntryDigest(endpoints.map(({ networkId: _network, ...record }) => record));

describe('a gossip agent', () => {
  let now: number;
  let network: InProcessNetwork;
  const start = (nodeId: string): Harness => {
    const counts = new Map<string, number>();
    const count = (name: string, by = 1): void => void counts.set(name, (counts.get(name) ?? 0) + by);
    const metrics: GossipMetrics = {
      entries: (n) => void counts.set('entries', n),
      digestMismatch: () => count('mismatch'),
      fallback: () => count('fallback'),
      syncBytes: (direction, kind, bytes) => count(`${direction}:${kind}`, bytes),
      rejected: (reason) => count(`rejected:${reason}`),
    };
    const harness: Harness = { counts, asks: [], changed: [], agent: undefined as unknown as GossipAgent };
    harness.agent = new GossipAgent({
      nodeId, epoch: 1, transport: network.open(nodeId), now: () => now, fallbackAfterMs: 5_000, antiEntropyIntervalMs: 10_000, antiEntropyPeers: 2, tombstoneTtlMs: 30_000,
      askManager: (networkId, owner) => harness.asks.push(`${networkId}/${owner}`), onTableChange: (networkId) => harness.changed.push(networkId), metrics,
    });
    return harness;
  };
  /** a and b on n1, each owning one endpoint, linked and in sync. */
  const linked = (): [Harness, Harness] => {
    const [a, b] = [start('a'), start('b')];
    for (const harness of [a, b]) harness.agent.setNetworks([networkOf('n1', { a: [A1], b: [B1] })]);
    a.agent.setOwnEndpoints([A1], 1);
    b.agent.setOwnEndpoints([B1], 1);
    network.settle();
    network.flush();
    return [a, b];
  };
  const sendAs = (from: string, to: string, message: GossipMessage): boolean => network.send(from, to, GossipMessage.encode(message).finish());
  const ids = (harness: Harness, networkId: string): string[] => harness.agent.table(networkId).map((entry) => `${entry.ownerNodeId}/${entry.endpointId}/${entry.source}`);

  beforeEach(() => {
    now = 0;
    network = new InProcessNetwork();
  });

  it('learns a member’s entries when they connect, and its changes at once, counting the bytes', () => {
    const [a, b] = [start('a'), start('b')];
    a.agent.setNetworks([networkOf('n1', { a: [A1], b: [B1] })]);
    a.agent.setOwnEndpoints([A1], 1);
    b.agent.setNetworks([networkOf('n1', { a: [A1], b: [B1] })]);
    b.agent.setOwnEndpoints([B1], 1);
    network.settle();
    network.flush();
    expect(ids(a, 'n1')).toEqual(['b/b1/gossip']);
    expect(ids(b, 'n1')).toEqual(['a/a1/gossip']);
    // What a reports for readiness: b's endpoints as the managers digest them.
    expect(a.agent.programmedDigests('n1')).toEqual(new Map([['b', digestOf([B1])]]));
    expect(a.counts.get('sent:snapshot')).toBeGreaterThan(0);
    expect(a.counts.get('received:digest')).toBeGreaterThan(0);
    const moved = { ...B1, ip: '10.1.0.9' };
    b.agent.setOwnEndpoints([moved], 1);
    network.flush();
    expect(a.agent.table('n1')).toMatchObject([{ endpointId: 'b1', ip: '10.1.0.9' }]);
    expect(b.counts.get('sent:changes')).toBeGreaterThan(0);
  });

  it('takes no entry from a node that is not a member of the network, and tells it nothing of that network', () => {
    const [a, c] = [start('a'), start('c')];
    // c shares n2 with a, so they are linked, but only a is on n1.
    a.agent.setNetworks([networkOf('n1', { a: [A1] }), networkOf('n2', { a: [], c: [C2] })]);
    a.agent.setOwnEndpoints([A1], 1);
    c.agent.setNetworks([networkOf('n2', { a: [], c: [C2] })]);
    c.agent.setOwnEndpoints([C2], 1);
    network.settle();
    network.flush();
    const sentBefore = a.counts.get('sent:snapshot') ?? 0;
    const c1 = GossipEntry.fromPartial({ endpointId: 'c1', ip: '10.1.0.66', mac: '02:42:00:00:00:66', vtep: '198.18.0.3' });
    expect(sendAs('c', 'a', { body: { $case: 'snapshot', value: { networkId: 'n1', ownerNodeId: 'c', version: { epoch: 1, counter: 9 }, revision: 1, entries: [c1] } } })).toBe(true);
    expect(sendAs('c', 'a', { body: { $case: 'digest', value: { held: [{ networkId: 'n1', version: undefined }] } } })).toBe(true);
    network.flush();
    expect(ids(a, 'n1')).toEqual([]);
    expect(a.counts.get('rejected:not-member')).toBe(2);
    expect(a.counts.get('sent:snapshot') ?? 0).toBe(sentBefore);
  });

  it('takes no entry a member sends on behalf of another member', () => {
    const [a, b, c] = [start('a'), start('b'), start('c')];
    const n1 = networkOf('n1', { a: [A1], b: [B1], c: [] });
    for (const harness of [a, b, c]) harness.agent.setNetworks([n1]);
    a.agent.setOwnEndpoints([A1], 1);
    b.agent.setOwnEndpoints([B1], 1);
    network.settle();
    network.flush();
    const forged = GossipEntry.fromPartial({ endpointId: 'c9', ip: '10.1.0.99', mac: '02:42:00:00:00:99', vtep: '198.18.0.2' });
    sendAs('b', 'a', { body: { $case: 'snapshot', value: { networkId: 'n1', ownerNodeId: 'c', version: { epoch: 9, counter: 9 }, revision: 9, entries: [forged] } } });
    sendAs('b', 'a', { body: { $case: 'changes', value: { networkId: 'n1', ownerNodeId: 'c', since: { epoch: 9, counter: 9 }, version: { epoch: 9, counter: 10 }, revision: 9, upserts: [forged], deletedEndpointIds: [] } } });
    network.flush();
    expect(ids(a, 'n1')).toEqual(['b/b1/gossip']);
    expect(a.counts.get('rejected:not-owner')).toBe(2);
  });

  it('drops a member the managers removed at once, with its entries, and stops accepting its link', () => {
    const [a] = linked();
    expect(ids(a, 'n1')).toEqual(['b/b1/gossip']);
    a.changed.length = 0;
    a.agent.setNetworks([networkOf('n1', { a: [A1] })]);
    expect(ids(a, 'n1')).toEqual([]);
    expect(a.changed).toEqual(['n1']);
    network.settle();
    expect(sendAs('b', 'a', { body: { $case: 'snapshot', value: { networkId: 'n1', ownerNodeId: 'b', version: { epoch: 1, counter: 99 }, revision: 1, entries: [B1] } } })).toBe(false);
  });

  it('repairs a lost delta by asking the owner before the managers, when its gossip keeps disagreeing with their digest', () => {
    const [a, b] = linked();
    a.agent.tick(); // the periodic round: the next one is not due before 10 s
    network.flush();
    const moved = { ...B1, ip: '10.1.0.9' };
    b.agent.setOwnEndpoints([moved], 2);
    network.drop(0);
    // The leader's correction: a's programmed digest of b lags the truth of revision 2.
    a.agent.setDigests(digestsOf('n1', { b: [moved] }, 2), false);
    expect(a.agent.table('n1')).toMatchObject([{ endpointId: 'b1', ip: '10.1.0.3' }]);
    now = 2_500;
    a.agent.tick();
    network.flush();
    expect(a.agent.table('n1')).toMatchObject([{ endpointId: 'b1', ip: '10.1.0.9', source: 'gossip' }]);
    now = 10_000;
    a.agent.tick();
    expect(a.asks).toEqual([]);
  });

  it('counts a disagreement with the managers’ digest, asks them after the timeout, and programs their answer', () => {
    const a = start('a');
    a.agent.setNetworks([networkOf('n1', { a: [A1], b: [B1] })]);
    a.agent.setOwnEndpoints([A1], 1);
    expect(a.counts.get('mismatch')).toBeUndefined();
    a.agent.setDigests(digestsOf('n1', { a: [A1], b: [B1] }), true);
    expect(a.counts.get('mismatch')).toBe(1);
    now = 5_000;
    a.agent.tick();
    expect(a.asks).toEqual(['n1/b']);
    expect(a.counts.get('fallback')).toBe(1);
    const { networkId: _network, ...record } = B1;
    a.agent.managerAnswer({ networkId: 'n1', ownerNodeId: 'b', revision: 1, entries: [record] });
    expect(ids(a, 'n1')).toEqual(['b/b1/manager']);
    expect(a.counts.get('entries')).toBe(1);
  });

  it('programs a member’s change from its gossip alone, and its readiness with it, with no digest from the leader', () => {
    const [a, b] = linked();
    a.agent.setDigests(digestsOf('n1', { b: [B1] }, 1), true);
    const added = endpoint('n1', 'b2', '10.1.0.4', '198.18.0.2');
    b.agent.setOwnEndpoints([B1, added], 5);
    network.flush();
    expect(ids(a, 'n1')).toEqual(['b/b1/gossip', 'b/b2/gossip']);
    a.changed.length = 0;
    b.agent.setOwnEndpoints([B1, { ...added, ready: true }], 5);
    network.flush();
    expect(a.changed).toEqual(['n1']);
    expect(a.agent.table('n1').filter((entry) => entry.ready).map((entry) => entry.endpointId)).toEqual(['b2']);
    now = 60_000;
    a.agent.tick();
    expect(a.asks).toEqual([]);
    expect(a.counts.get('mismatch')).toBeUndefined();
  });
});
