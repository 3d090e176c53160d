import { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import { OwnEntries } from './own-entries';

const record = (endpointId: string, ip: string): GossipEntry => GossipEntry.fromPartial({ endpointId, ip, mac: '02:42:0a:00:00:02', vtep: '198.18.0.1' });
const TTL = 1_000;

describe('an owner’s entries', () => {
  it('announces a network’s first set whole, then only what changed', () => {
    const own = new OwnEntries('a', 7, TTL);
    const [first] = own.replaceAll(new Map([['n1', [record('e1', '10.0.0.2'), record('e2', '10.0.0.3')]]]), 1, 0);
    expect(first).toEqual({ networkId: 'n1', ownerNodeId: 'a', version: { epoch: 7, counter: 1 }, revision: 1, entries: [record('e1', '10.0.0.2'), record('e2', '10.0.0.3')] });
    const [second] = own.replaceAll(new Map([['n1', [record('e1', '10.0.0.9')]]]), 1, 0);
    expect(second).toEqual({
      networkId: 'n1', ownerNodeId: 'a', since: { epoch: 7, counter: 1 }, version: { epoch: 7, counter: 2 }, revision: 1,
      upserts: [record('e1', '10.0.0.9')], deletedEndpointIds: ['e2'],
    });
    expect(own.replaceAll(new Map([['n1', [record('e1', '10.0.0.9')]]]), 1, 0)).toEqual([]);
  });

  it('sends a peer a few versions behind what changed since, deletions included, and a current peer nothing', () => {
    const own = new OwnEntries('a', 1, TTL);
    own.replaceAll(new Map([['n1', [record('e1', '10.0.0.2'), record('e2', '10.0.0.3')]]]), 1, 0);
    own.replaceAll(new Map([['n1', [record('e2', '10.0.0.3')]]]), 2, 10);
    own.replaceAll(new Map([['n1', [record('e2', '10.0.0.3'), record('e3', '10.0.0.4')]]]), 3, 20);
    expect(own.catchUp('n1', { epoch: 1, counter: 1 })).toMatchObject({ since: { epoch: 1, counter: 1 }, upserts: [record('e3', '10.0.0.4')], deletedEndpointIds: ['e1'] });
    expect(own.catchUp('n1', own.versionOf('n1'))).toBeUndefined();
  });

  it('once a tombstone is purged, a peer older than it gets the whole set, so the deleted entry cannot survive there', () => {
    const own = new OwnEntries('a', 1, TTL);
    own.replaceAll(new Map([['n1', [record('e1', '10.0.0.2'), record('e2', '10.0.0.3')]]]), 1, 0);
    own.replaceAll(new Map([['n1', [record('e2', '10.0.0.3')]]]), 2, 10);
    own.purge(10 + TTL - 1);
    expect(own.catchUp('n1', { epoch: 1, counter: 1 })).toMatchObject({ deletedEndpointIds: ['e1'] });
    own.purge(10 + TTL);
    expect(own.catchUp('n1', { epoch: 1, counter: 1 })).toEqual({ networkId: 'n1', ownerNodeId: 'a', version: { epoch: 1, counter: 2 }, revision: 2, entries: [record('e2', '10.0.0.3')] });
  });

  it('after a restart (a new epoch) answers what peers hold of its previous life with its whole set, even an empty one', () => {
    const own = new OwnEntries('a', 2, TTL);
    expect(own.catchUp('n1', { epoch: 1, counter: 40 })).toEqual({ networkId: 'n1', ownerNodeId: 'a', version: { epoch: 2, counter: 0 }, revision: 0, entries: [] });
    expect(own.catchUp('n1', undefined)).toMatchObject({ version: { epoch: 2, counter: 0 }, revision: 0, entries: [] });
  });

  it('tells the view revision the set changed at, never going back, and announces a change of readiness alone', () => {
    const own = new OwnEntries('a', 1, TTL);
    own.replaceAll(new Map([['n1', [record('e1', '10.0.0.2')]]]), 10, 0);
    expect(own.replaceAll(new Map([['n1', [record('e1', '10.0.0.2')]]]), 12, 0)).toEqual([]);
    expect(own.snapshot('n1').revision).toBe(10);
    const [ready] = own.replaceAll(new Map([['n1', [{ ...record('e1', '10.0.0.2'), ready: true }]]]), 9, 0);
    expect(ready).toMatchObject({ revision: 10, upserts: [{ endpointId: 'e1', ready: true }] });
  });

  it('announces a network it left as an empty change, so peers drop what they hold', () => {
    const own = new OwnEntries('a', 1, TTL);
    own.replaceAll(new Map([['n1', [record('e1', '10.0.0.2')]]]), 1, 0);
    expect(own.replaceAll(new Map(), 1, 5)).toEqual([{ networkId: 'n1', ownerNodeId: 'a', since: { epoch: 1, counter: 1 }, version: { epoch: 1, counter: 2 }, revision: 1, upserts: [], deletedEndpointIds: ['e1'] }]);
  });
});
