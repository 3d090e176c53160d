import fc from 'fast-check';
import { GossipEntry, type GossipChanges, type GossipSnapshot } from '../../proto/gen/trellis/v1/gossip';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { OwnEntries } from './own-entries';
import { Replica } from './replica';

/*
 * An owner goes through random changes of its set (tombstones purged along the way) and the
 * messages it would send (its deltas, and answers to peers holding random older versions)
 * reach a replica in any order, duplicated or not, some lost. After every message, the
 * replica holds exactly the owner's set at the version it claims, and that version never
 * goes back; with the owner's last answer to what it holds, it ends current.
 */
const history = fc.array(
  fc.record({ present: fc.subarray(['e1', 'e2', 'e3', 'e4']), ip: fc.nat({ max: 3 }), purge: fc.boolean(), peerHolds: fc.option(fc.nat()) }),
  { minLength: 1, maxLength: 12 },
);

function deliver(replica: Replica, message: GossipSnapshot | GossipChanges): void {
  if ('entries' in message) replica.applySnapshot(message);
  else replica.applyChanges(message);
}

describe('a replica of an owner’s set', () => {
  it('is always the owner’s set at the version it holds, whatever the order, loss or duplication of messages', () => {
    fc.assert(
      fc.property(history, fc.array(fc.nat()), (steps, order) => {
        const own = new OwnEntries('a', 3, 10);
        const setAt = new Map<string, string>([['3.0', gossipEntryDigest([])]]);
        const messages: (GossipSnapshot | GossipChanges)[] = [];
        steps.forEach((step, time) => {
          const records = step.present.map((endpointId) => GossipEntry.fromPartial({ endpointId, ip: `10.0.0.${step.ip}`, mac: 'm', vtep: 'v' }));
          messages.push(...own.replaceAll(new Map([['n', records]]), time, time * 10));
          const version = own.versionOf('n');
          setAt.set(`${version.epoch}.${version.counter}`, gossipEntryDigest(records));
          if (step.purge) own.purge(time * 10);
          if (step.peerHolds !== null) {
            const answer = own.catchUp('n', { epoch: 3, counter: step.peerHolds % (version.counter + 1) });
            if (answer) messages.push(answer);
          }
        });
        const replica = new Replica();
        let last = -1;
        for (const index of messages.length > 0 ? order : []) {
          deliver(replica, messages[index % messages.length]!);
          const held = replica.version;
          if (!held) continue;
          expect(held.counter).toBeGreaterThanOrEqual(last);
          last = held.counter;
          expect(gossipEntryDigest(replica.records())).toBe(setAt.get(`${held.epoch}.${held.counter}`));
        }
        const final = own.catchUp('n', replica.version);
        if (final) deliver(replica, final);
        expect(replica.version).toEqual(own.versionOf('n'));
        expect(gossipEntryDigest(replica.records())).toBe(gossipEntryDigest(own.snapshot('n').entries));
      }),
      { numRuns: 500 },
    );
  });

  it('holds back changes until what precedes them arrives', () => {
    const replica = new Replica();
    const entry = (endpointId: string): GossipEntry => GossipEntry.fromPartial({ endpointId, ip: '10.0.0.2', mac: 'm', vtep: 'v' });
    expect(replica.applyChanges({ networkId: 'n', ownerNodeId: 'a', since: { epoch: 1, counter: 1 }, version: { epoch: 1, counter: 2 }, revision: 2, upserts: [entry('e2')], deletedEndpointIds: ['e1'] })).toEqual({ changed: false, gap: true });
    expect(replica.records()).toEqual([]);
    expect(replica.applySnapshot({ networkId: 'n', ownerNodeId: 'a', version: { epoch: 1, counter: 1 }, revision: 1, entries: [entry('e1')] })).toBe(true);
    expect(replica.version).toEqual({ epoch: 1, counter: 2 });
    expect(replica.revision).toBe(2);
    expect(replica.records()).toEqual([entry('e2')]);
  });
});
