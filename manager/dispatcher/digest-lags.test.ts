import { DigestLags } from './digest-lags';

describe('DigestLags', () => {
  const pair = { memberId: 'm', networkId: 'blue', ownerId: 'x' };

  it('is due once the grace period has passed since it first lagged, then again after twice as long each time until it catches up', () => {
    const lags = new DigestLags(2_000);
    lags.lagging(pair, 1_000);
    // Seen lagging again later: the clock keeps its start.
    lags.lagging(pair, 2_500);
    expect(lags.due(2_999)).toEqual([]);
    expect(lags.due(3_000)).toEqual([pair]);
    expect(lags.due(4_999)).toEqual([]);
    expect(lags.due(5_000)).toEqual([pair]);
    expect(lags.due(8_999)).toEqual([]);
    expect(lags.due(9_000)).toEqual([pair]);
    expect(lags.due(16_999)).toEqual([]);
    expect(lags.due(17_000)).toEqual([pair]);
    lags.caughtUp(pair);
    expect(lags.due(10_000)).toEqual([]);
    expect(lags.pairsOf('m')).toEqual([]);
  });

  it('gives a member the whole grace period from when the truth reached its stream, however long it lagged before', () => {
    const lags = new DigestLags(2_000);
    lags.lagging(pair, 0);
    lags.told(pair, 1_500);
    expect(lags.due(2_000)).toEqual([]);
    expect(lags.due(3_499)).toEqual([]);
    expect(lags.due(3_500)).toEqual([pair]);
    // A pair it does not lag on is not started by being told.
    lags.told({ ...pair, ownerId: 'y' }, 4_000);
    expect(lags.pairsOf('m').map((lag) => lag.ownerId)).toEqual(['x']);
  });

  it('forgets a member whose session ended', () => {
    const lags = new DigestLags(10);
    lags.lagging(pair, 0);
    lags.lagging({ ...pair, memberId: 'n' }, 0);
    lags.forgetMember('m');
    expect(lags.due(100)).toEqual([{ ...pair, memberId: 'n' }]);
  });
});
