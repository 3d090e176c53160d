import { MemberDigestLedger } from './member-digest-ledger';

describe('MemberDigestLedger', () => {
  it('credits a reported digest with the newest revision from which it was the truth, and forgets beyond its history', () => {
    const ledger = new MemberDigestLedger(3);
    // First asked at revision 4: the set then holds every endpoint created by 4.
    expect(ledger.current('blue', 'x', 4, () => 'A')).toEqual({ revision: 4, digest: 'A' });
    expect(ledger.record('blue', 'x', 6, 'A')).toBe(false);
    expect(ledger.record('blue', 'x', 6, 'B')).toBe(true);
    expect(ledger.record('blue', 'x', 8, 'C')).toBe(true);
    // Back to B (an endpoint added at 8 was removed at 9): B is the truth from 9 on too.
    expect(ledger.record('blue', 'x', 9, 'B')).toBe(true);
    expect(ledger.coveredUpTo('blue', 'x', 'B')).toBe(9);
    expect(ledger.coveredUpTo('blue', 'x', 'C')).toBe(8);
    // A was dropped from the 3 states kept: a member still holding it is credited with nothing.
    expect(ledger.coveredUpTo('blue', 'x', 'A')).toBe(0);
    expect(ledger.coveredUpTo('blue', 'x', '')).toBe(0);
    expect(ledger.current('blue', 'x', 12, () => 'unused')).toEqual({ revision: 9, digest: 'B' });
  });

  it('starts a pair again once forgotten (its owner left the network or stopped gossiping)', () => {
    const ledger = new MemberDigestLedger();
    ledger.record('blue', 'x', 3, 'A');
    ledger.record('red', 'x', 3, 'R');
    ledger.forget('blue', 'x');
    expect(ledger.tracked('blue', 'x')).toBe(false);
    expect([...ledger.networks()]).toEqual(['red']);
    expect(ledger.coveredUpTo('blue', 'x', 'A')).toBe(0);
    expect(ledger.current('blue', 'x', 10, () => 'A')).toEqual({ revision: 10, digest: 'A' });
  });
});
