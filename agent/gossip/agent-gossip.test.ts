import pino from 'pino';
import { EndpointView, NodeView, type MemberView } from '../../proto/gen/trellis/v1/dispatcher';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { AgentGossip } from './agent-gossip';
import { ownEndpoints } from './composed-view';
import { InProcessNetwork } from './test-transport';

/*
 * The wiring of two gossiping agents over the in-process transport: what each offers its converge
 * loop (the composed view), the ready set balancing and DNS follow, and what the report after a
 * pass says it programmed. The managers are played by the views handed to viewArrived.
 */

const network = { id: 'n1', name: 'n1', vni: 4096, subnet: '10.1.0.0/24', gateway: '10.1.0.1', mtu: 0, internal: false };
const endpoint = (id: string, nodeId: string, ip: string): EndpointView =>
  EndpointView.fromPartial({ id, networkId: 'n1', nodeId, vtep: `198.18.0.${nodeId === 'a' ? 1 : 2}`, ip, prefixLength: 24, mac: `02:42:0a:01:00:0${ip.slice(-1)}`, hostname: id });
const member = (nodeId: string): MemberView => ({ networkId: 'n1', nodeId, publicKey: `key-${nodeId}`, vtep: `198.18.0.${nodeId === 'a' ? 1 : 2}` });
const A1 = endpoint('a1', 'a', '10.1.0.2');
const B1 = endpoint('b1', 'b', '10.1.0.3');

function viewOf(nodeId: string, revision: number, endpoints: EndpointView[], members: MemberView[]): NodeView {
  return NodeView.fromPartial({ revision, nodeId, networks: [network], endpoints, members });
}

/** One agent's wiring and everything it handed the rest of the agent. */
class Wired {
  readonly offers: NodeView[] = [];
  readonly readiness: string[][] = [];
  readonly propagated: number[] = [];
  readonly gossip: AgentGossip;

  constructor(nodeId: string, net: InProcessNetwork, now?: () => number) {
    this.gossip = new AgentGossip({
      now,
      transport: net.open(nodeId),
      epoch: 1,
      askManager: () => undefined,
      offer: (view) => this.offers.push(view),
      readinessChanged: (ready) => this.readiness.push([...ready].sort()),
      metrics: {
        entries: () => undefined,
        digestMismatch: () => undefined,
        fallback: () => undefined,
        syncBytes: () => undefined,
        rejected: () => undefined,
        members: () => undefined,
        propagated: (seconds) => this.propagated.push(...seconds),
      },
      logger: pino({ level: 'silent' }),
    });
  }

  get last(): NodeView {
    const view = this.offers[this.offers.length - 1];
    if (!view) throw new Error('no view offered');
    return view;
  }

  endpointIds(): string[] {
    return this.last.endpoints.map((endpoint) => endpoint.id).sort();
  }
}

/** Lets the wiring compose (a microtask), then the network carry everything, then compose again. */
async function settle(net: InProcessNetwork): Promise<void> {
  await Promise.resolve();
  net.settle();
  net.flush();
  await Promise.resolve();
}

describe("a gossiping agent's wiring", () => {
  let net: InProcessNetwork;
  let a: Wired;
  let b: Wired;

  beforeEach(async () => {
    net = new InProcessNetwork();
    a = new Wired('a', net);
    b = new Wired('b', net);
    // Slim views: each holds its own endpoint and the other as a member, not the other's endpoint.
    a.gossip.viewArrived(viewOf('a', 5, [A1], [member('b')]));
    b.gossip.viewArrived(viewOf('b', 5, [B1], [member('a')]));
    await settle(net);
  });

  afterEach(async () => {
    await Promise.all([a.gossip.stop(), b.gossip.stop()]);
  });

  it("offers a view holding the other member's endpoint, learned from gossip, not ready until its owner is told it is", async () => {
    expect(b.endpointIds()).toEqual(['a1', 'b1']);
    expect(b.last.endpoints.find((endpoint) => endpoint.id === 'a1')).toMatchObject({ nodeId: 'a', vtep: '198.18.0.1', ip: '10.1.0.2', interfaceName: '' });
    expect(b.gossip.readyEndpoints().has('a1')).toBe(false);

    a.gossip.readinessArrived(new Set(['a1']));
    await settle(net);
    expect(b.gossip.readyEndpoints().has('a1')).toBe(true);
    expect(b.readiness[b.readiness.length - 1]).toEqual(['a1']);
    // Its own endpoint's readiness is the managers' word, kept beside what gossip says.
    b.gossip.readinessArrived(new Set(['b1']));
    await settle(net);
    expect([...b.gossip.readyEndpoints()].sort()).toEqual(['a1', 'b1']);
  });

  it('offers nothing at a start until every member was heard from (the kernel keeps its entries), or the warm-up is over', async () => {
    // b heard a before it offered anything: no view without a's endpoint reached its loop.
    expect(b.offers.every((view) => view.endpoints.some((endpoint) => endpoint.id === 'a1'))).toBe(true);

    let now = 0;
    const c = new Wired('c', net, () => now);
    try {
      net.partition('a', 'c');
      c.gossip.viewArrived(viewOf('c', 5, [endpoint('c1', 'c', '10.1.0.9')], [member('a')]));
      await settle(net);
      expect(c.offers).toEqual([]);
      now = 5_000;
      c.gossip.readinessArrived(new Set());
      await settle(net);
      expect(c.endpointIds()).toEqual(['c1']);
    } finally {
      await c.gossip.stop();
    }
  });

  it("stops taking a member's endpoint as ready when its link goes (it cannot tell it went down), and again when it is back", async () => {
    a.gossip.readinessArrived(new Set(['a1']));
    await settle(net);
    expect(b.gossip.readyEndpoints().has('a1')).toBe(true);
    net.partition('a', 'b');
    await settle(net);
    expect(b.gossip.readyEndpoints().has('a1')).toBe(false);
    expect(b.readiness[b.readiness.length - 1]).toEqual([]);
    // Still programmed: the data plane may well reach it.
    expect(b.endpointIds()).toEqual(['a1', 'b1']);
    net.healAll();
    await settle(net);
    expect(b.gossip.readyEndpoints().has('a1')).toBe(true);
  });

  it('reports the digests of exactly the composition a pass converged on', async () => {
    const before = b.last;
    const digestOfA1 = gossipEntryDigest(ownEndpoints(viewOf('a', 5, [A1], []), new Set()).map(({ networkId: _networkId, ...record }) => record));
    expect(b.gossip.programmedMembers(before)).toEqual([{ networkId: 'n1', ownerNodeId: 'a', digest: digestOfA1 }]);

    const A2 = endpoint('a2', 'a', '10.1.0.4');
    a.gossip.viewArrived(viewOf('a', 6, [A1, A2], [member('b')]));
    await settle(net);
    const after = b.last;
    expect(b.endpointIds()).toEqual(['a1', 'a2', 'b1']);
    expect(b.gossip.programmedMembers(after)[0]?.digest).not.toBe(digestOfA1);
    // The earlier view still stands for the earlier composition: a pass that converged on it reports that.
    expect(b.gossip.programmedMembers(before)).toEqual([{ networkId: 'n1', ownerNodeId: 'a', digest: digestOfA1 }]);
    // Same revision on b, other gossip: a kernel write between them is no drift.
    expect(b.gossip.sameDesired(before, after)).toBe(false);
  });

  it('takes readiness alone as no change of what the kernel is asked for', async () => {
    const before = b.last;
    a.gossip.readinessArrived(new Set(['a1']));
    await settle(net);
    expect(b.last).not.toBe(before);
    expect(b.gossip.sameDesired(before, b.last)).toBe(true);
  });

  it("drops an endpoint its owner deleted, and every entry of a member the managers removed", async () => {
    a.gossip.viewArrived(viewOf('a', 6, [], [member('b')]));
    await settle(net);
    expect(b.endpointIds()).toEqual(['b1']);

    a.gossip.viewArrived(viewOf('a', 7, [A1], [member('b')]));
    await settle(net);
    expect(b.endpointIds()).toEqual(['a1', 'b1']);
    b.gossip.viewArrived(viewOf('b', 8, [B1], []));
    await Promise.resolve();
    expect(b.endpointIds()).toEqual(['b1']);
    expect(b.gossip.programmedMembers(b.last)).toEqual([]);
  });

  it("keeps, after a pass, the managers' view and ready set it came from, only when they changed", async () => {
    const slim = viewOf('b', 5, [B1], [member('a')]);
    expect(b.gossip.toSave(b.last)).toEqual({ view: slim, readyEndpointIds: [] });
    expect(b.gossip.toSave(b.last)).toBeUndefined();
    // Gossip alone changed the composed view: the managers' part is kept already.
    a.gossip.viewArrived(viewOf('a', 6, [A1, endpoint('a2', 'a', '10.1.0.4')], [member('b')]));
    await settle(net);
    expect(b.gossip.toSave(b.last)).toBeUndefined();
    b.gossip.readinessArrived(new Set(['b1']));
    await settle(net);
    expect(b.gossip.toSave(b.last)).toEqual({ view: slim, readyEndpointIds: ['b1'] });
  });

  it('times propagation from an entry first learned to the end of the pass that programmed it, once', async () => {
    b.gossip.converged(b.last, []);
    expect(b.propagated).toHaveLength(1);
    b.gossip.converged(b.last, []);
    expect(b.propagated).toHaveLength(1);
    // An entry the pass could not program has not propagated yet.
    const A2 = endpoint('a2', 'a', '10.1.0.4');
    a.gossip.viewArrived(viewOf('a', 6, [A1, A2], [member('b')]));
    await settle(net);
    b.gossip.converged(b.last, ['a2']);
    expect(b.propagated).toHaveLength(1);
    b.gossip.converged(b.last, []);
    expect(b.propagated).toHaveLength(2);
    expect(b.propagated.every((seconds) => seconds >= 0)).toBe(true);
  });
});
