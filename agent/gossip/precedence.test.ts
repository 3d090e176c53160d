import { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { MemberJudgment } from './precedence';

const FALLBACK_AFTER = 5_000;
const e1 = GossipEntry.fromPartial({ endpointId: 'e1', ip: '10.0.0.2', mac: '02:42:0a:00:00:02', vtep: '198.18.0.2', hostname: 'web-1' });
const e2 = GossipEntry.fromPartial({ endpointId: 'e2', ip: '10.0.0.3', mac: '02:42:0a:00:00:03', vtep: '198.18.0.2', hostname: 'web-2' });

/** A member whose managers' digest is of `truth` at store revision `revision`. */
function judged(truth: GossipEntry[], revision = 10): MemberJudgment {
  const judgment = new MemberJudgment({ nodeId: 'b', publicKey: 'key-b', vtep: '198.18.0.2' }, FALLBACK_AFTER);
  judgment.updateDigest(gossipEntryDigest(truth), revision);
  return judgment;
}

/** The owner's gossip: its set at its view revision `revision`. */
function gossip(judgment: MemberJudgment, counter: number, entries: GossipEntry[], revision = 10): void {
  judgment.replica.applySnapshot({ networkId: 'n', ownerNodeId: 'b', version: { epoch: 1, counter }, revision, entries });
}

describe('the precedence of the managers over gossip', () => {
  it('programs gossip that matches the managers’ digest, with nothing to count', () => {
    const judgment = judged([e1]);
    gossip(judgment, 1, [e1]);
    expect(judgment.decide(0)).toEqual({ source: 'gossip', records: [e1], digest: expect.any(String), mismatchBegan: false, probe: false, ask: false });
  });

  it('programs gossip of a later revision than the digest held without counting a disagreement: the owner is ahead', () => {
    const judgment = judged([e1], 10);
    gossip(judgment, 2, [e1, e2], 11);
    expect(judgment.decide(0)).toEqual({ source: 'gossip', records: [e1, e2], digest: expect.any(String), mismatchBegan: false, probe: false, ask: false });
    expect(judgment.decide(10 * FALLBACK_AFTER)).toMatchObject({ mismatchBegan: false, ask: false });
  });

  it('programs gossip while no digest is held (before the session’s first MemberDigests)', () => {
    const judgment = new MemberJudgment({ nodeId: 'b', publicKey: 'key-b', vtep: '198.18.0.2' }, FALLBACK_AFTER);
    gossip(judgment, 1, [e1]);
    expect(judgment.decide(FALLBACK_AFTER)).toMatchObject({ source: 'gossip', records: [e1], mismatchBegan: false, ask: false });
  });

  it('keeps programming the owner’s gossip while it disagrees, and asks the managers once the disagreement lasted the timeout', () => {
    const judgment = judged([e1, e2]);
    gossip(judgment, 1, [e1]);
    expect(judgment.decide(0)).toEqual({ source: 'gossip', records: [e1], digest: expect.any(String), mismatchBegan: true, probe: false, ask: false });
    expect(judgment.decide(FALLBACK_AFTER / 2 - 1)).toMatchObject({ mismatchBegan: false, probe: false, ask: false });
    // Half the timeout: the owner is sent a digest (it may only have lost a message), once.
    expect(judgment.decide(FALLBACK_AFTER / 2)).toMatchObject({ probe: true, ask: false });
    expect(judgment.decide(FALLBACK_AFTER - 1)).toMatchObject({ probe: false, ask: false });
    expect(judgment.decide(FALLBACK_AFTER)).toMatchObject({ source: 'gossip', ask: true });
    // Not again until another timeout passes without an answer (managers unreachable).
    expect(judgment.decide(FALLBACK_AFTER + 1)).toMatchObject({ ask: false });
    expect(judgment.decide(2 * FALLBACK_AFTER)).toMatchObject({ ask: true });
  });

  it('programs the managers’ answer until gossip catches up, then gossip again', () => {
    const judgment = judged([e1, e2]);
    gossip(judgment, 1, [e1]);
    judgment.decide(0);
    judgment.decide(FALLBACK_AFTER);
    judgment.takeAnswer({ networkId: 'n', ownerNodeId: 'b', revision: 10, entries: [e1, e2] });
    expect(judgment.decide(FALLBACK_AFTER + 1)).toEqual({ source: 'manager', records: [e1, e2], digest: expect.any(String), mismatchBegan: false, probe: false, ask: false });
    gossip(judgment, 2, [e1, e2]);
    expect(judgment.decide(FALLBACK_AFTER + 2)).toEqual({ source: 'gossip', records: [e1, e2], digest: expect.any(String), mismatchBegan: false, probe: false, ask: false });
  });

  it('takes a newer answer of the managers as their judgment, and ignores one older than the digest it holds', () => {
    const judgment = judged([e1], 10);
    gossip(judgment, 1, [e1]);
    judgment.takeAnswer({ networkId: 'n', ownerNodeId: 'b', revision: 9, entries: [] });
    expect(judgment.decide(0)).toMatchObject({ source: 'gossip', records: [e1], mismatchBegan: false });
    judgment.takeAnswer({ networkId: 'n', ownerNodeId: 'b', revision: 11, entries: [e1, e2] });
    expect(judgment.decide(1)).toEqual({ source: 'manager', records: [e1, e2], digest: expect.any(String), mismatchBegan: true, probe: false, ask: false });
    // A digest older than that answer does not take its judgment back.
    judgment.updateDigest(gossipEntryDigest([e1]), 10);
    expect(judgment.decide(2)).toMatchObject({ source: 'manager', records: [e1, e2] });
  });

  it('waits the whole timeout again for a new digest, since gossip usually follows it at once', () => {
    const judgment = judged([e1]);
    gossip(judgment, 1, []);
    judgment.decide(0);
    judgment.updateDigest(gossipEntryDigest([e1, e2]), 11);
    expect(judgment.decide(FALLBACK_AFTER)).toMatchObject({ digest: expect.any(String), mismatchBegan: true, probe: false, ask: false });
    expect(judgment.decide(2 * FALLBACK_AFTER)).toMatchObject({ ask: true });
  });

  it('does not count readiness as a disagreement: the managers’ digest leaves it out', () => {
    const judgment = judged([e1]);
    gossip(judgment, 1, [{ ...e1, ready: true }]);
    expect(judgment.decide(0)).toMatchObject({ source: 'gossip', records: [{ endpointId: 'e1', ready: true }], mismatchBegan: false });
  });

  it('asks the managers after a fifth of the timeout, without probing, when it has no link to the owner', () => {
    const judgment = judged([e1]);
    expect(judgment.decide(0, false)).toMatchObject({ source: 'gossip', records: [], mismatchBegan: true, probe: false, ask: false });
    expect(judgment.decide(FALLBACK_AFTER / 5 - 1, false)).toMatchObject({ probe: false, ask: false });
    expect(judgment.decide(FALLBACK_AFTER / 5, false)).toMatchObject({ probe: false, ask: true });
    judgment.takeAnswer({ networkId: 'n', ownerNodeId: 'b', revision: 10, entries: [e1] });
    expect(judgment.decide(FALLBACK_AFTER / 5 + 1, false)).toMatchObject({ source: 'manager', records: [e1] });
  });
});
