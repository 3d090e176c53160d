import type { MemberDigest } from '../../proto/gen/trellis/v1/dispatcher';
import { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { GossipJudge } from './gossip-judge';
import type { GossipStore } from './gossip-store';

/*
 * The leader's judgment alone, over a store of one network "blue" whose hosts all gossip and own
 * one endpoint each (created at revision 1), with sessions the test opens and a clock it moves.
 */
class Store implements GossipStore {
  revision = 1;
  constructor(readonly hosts: string[]) {}
  gossips(): boolean {
    return true;
  }
  hostedNetworks(nodeId: string): ReadonlySet<string> {
    return new Set(this.hosts.includes(nodeId) ? ['blue'] : []);
  }
  hostIds(networkId: string): ReadonlySet<string> {
    return new Set(networkId === 'blue' ? this.hosts : []);
  }
  endpointPlace(endpointId: string): { networkId: string; ownerId: string } | undefined {
    return { networkId: 'blue', ownerId: endpointId.slice(3) };
  }
  ownedEndpoints(_networkId: string, ownerId: string): { id: string; createdRevision: number }[] {
    return [{ id: `ep-${ownerId}`, createdRevision: 1 }];
  }
  memberEntries(_networkId: string, ownerId: string): GossipEntry[] {
    return [GossipEntry.fromPartial({ endpointId: `ep-${ownerId}`, ip: '10.0.0.1', vtep: '198.18.0.1' })];
  }
  changedPairs(): { networkId: string; ownerId: string }[] {
    return [];
  }
}

const truth = (ownerId: string): string => gossipEntryDigest(new Store([]).memberEntries('blue', ownerId));

function judgeOf(hosts: string[]): { judge: GossipJudge; sent: Map<string, MemberDigest[]>; clock: { now: number } } {
  const clock = { now: 0 };
  const sent = new Map<string, MemberDigest[]>();
  const live = new Set(hosts);
  const judge = new GossipJudge(
    new Store(hosts),
    {
      live: (nodeId) => live.has(nodeId),
      speaksFor: () => true,
      sendDigests: (nodeId, digests) => sent.set(nodeId, [...(sent.get(nodeId) ?? []), ...digests]),
    },
    { correctionGraceMs: 2_000, now: () => clock.now },
  );
  return { judge, sent, clock };
}

describe('GossipJudge', () => {
  it('does not correct a member whose truth reached it less than the grace period ago, however long it lagged before', () => {
    const { judge, sent, clock } = judgeOf(['m', 'x']);
    // m's first report holds nothing of x: it lags from 0.
    judge.reported('m', [], true);
    // The truth sat in m's outbox behind its view; its stream took it at 1.5 s.
    clock.now = 1_500;
    judge.told('m', [judge.digest('blue', 'x')]);
    clock.now = 2_500;
    expect(judge.correct()).toBe(0);
    expect(sent.size).toBe(0);
    // Still not reported a grace period after it was told: corrected.
    clock.now = 3_500;
    expect(judge.correct()).toBe(1);
    expect(sent.get('m')).toEqual([judge.digest('blue', 'x')]);
  });

  it('counts how far the members have programmed an owner as members join, leave and report', () => {
    const { judge } = judgeOf(['m', 'n', 'x']);
    judge.reported('m', [{ networkId: 'blue', ownerNodeId: 'x', digest: truth('x') }], true);
    // x's set has been the truth from revision 1 (the first time it was asked about).
    expect(judge.floor('blue', 'x', ['m', 'x'])).toBe(1);
    // n joins the members before it reported x: x's endpoint is not programmed everywhere.
    expect(judge.floor('blue', 'x', ['m', 'n', 'x'])).toBe(0);
    judge.reported('n', [{ networkId: 'blue', ownerNodeId: 'x', digest: truth('x') }], true);
    expect(judge.floor('blue', 'x', ['m', 'n', 'x'])).toBe(1);
    // m reports a set that never was x's: until it programs the truth again, x waits for it.
    judge.reported('m', [{ networkId: 'blue', ownerNodeId: 'x', digest: 'stale' }], false);
    expect(judge.floor('blue', 'x', ['m', 'n', 'x'])).toBe(0);
    // m leaves the members (its session ended): it is no longer waited for.
    expect(judge.floor('blue', 'x', ['n', 'x'])).toBe(1);
    // It comes back with a first report that replaces everything it said before.
    judge.reported('m', [], true);
    expect(judge.floor('blue', 'x', ['m', 'n', 'x'])).toBe(0);
    judge.reported('m', [{ networkId: 'blue', ownerNodeId: 'x', digest: truth('x') }], false);
    expect(judge.floor('blue', 'x', ['m', 'n', 'x'])).toBe(1);
    // The owner is not waited for on its own endpoints.
    expect(judge.floor('blue', 'x', ['x'])).toBe(Infinity);
  });
});
