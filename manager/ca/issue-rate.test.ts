import { IssueRateLimiter } from './issue-rate';

describe('the per-token issue rate', () => {
  it('grants a minute’s worth at once, then one per refill, each token on its own', () => {
    const limiter = new IssueRateLimiter(3);
    expect([0, 0, 0].map((at) => limiter.take('worker', at))).toEqual([undefined, undefined, undefined]);
    expect(limiter.take('worker', 0)).toBe(20_000);
    expect(limiter.take('manager', 0)).toBeUndefined();
    expect(limiter.take('worker', 10_000)).toBe(10_000);
    expect(limiter.take('worker', 20_000)).toBeUndefined();
    expect(limiter.take('worker', 20_000)).toBe(20_000);
  });
});
