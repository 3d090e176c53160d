/** Certificates one join token may get from one manager per minute (a burst of as many, then evenly). */
export const DEFAULT_JOINS_PER_MINUTE = 300;

/**
 * How many certificates one join token may get from one manager: a token bucket per
 * token, refilled continuously. In memory on the serving manager: replicating it would
 * make every join a write of its own, and a manager restart only grants one more burst.
 * The cluster-wide rate is at most this times the number of managers.
 */
export class IssueRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** Takes one issue for `key` at `now` (ms); returns the wait in ms until one is available when there is none. */
  take(key: string, now: number): number | undefined {
    const refillPerMs = this.perMinute / 60_000;
    const held = this.buckets.get(key);
    const tokens = held ? Math.min(this.perMinute, held.tokens + (now - held.at) * refillPerMs) : this.perMinute;
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return Math.ceil((1 - tokens) / refillPerMs);
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    // Full buckets say nothing: forgetting them keeps the map to the tokens used within the last minute or so.
    for (const [other, bucket] of this.buckets) {
      if (other !== key && bucket.tokens + (now - bucket.at) * refillPerMs >= this.perMinute) this.buckets.delete(other);
    }
    return undefined;
  }
}
