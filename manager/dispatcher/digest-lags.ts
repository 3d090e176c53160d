/** A member whose programmed digest of one owner's set on one network is not the truth. */
export interface LaggingPair {
  memberId: string;
  networkId: string;
  ownerId: string;
}

interface Lag extends LaggingPair {
  /** When it was first seen to differ (and has differed since). */
  since: number;
  /** When it was last sent a correction. */
  correctedAt?: number;
  /** How long after that the next one is due: doubles with every correction it ignores. */
  backoffMs: number;
}

/** The longest wait between two corrections of a pair that does not catch up. */
const MAX_BACKOFF_MS = 60_000;

/**
 * Which members' programmed digests (ProgrammedReport.members) differ from the leader's, since
 * when: a member is given a grace period to catch up through gossip before the leader sends it
 * the truth (a correction); a pair still lagging is corrected again after twice as long each time
 * (up to a minute): a member that cannot catch up (its gossip and its fallback both failing) is
 * not sent the same digest every grace period, which across many members is a storm.
 * Pure: the caller says what it saw and when.
 */
export class DigestLags {
  private readonly byMember = new Map<string, Map<string, Lag>>();

  constructor(private readonly graceMs: number) {}

  /** The member's digest of the pair differs from the truth now; its clock starts at the first time it is seen to. */
  lagging(pair: LaggingPair, now: number): void {
    let lags = this.byMember.get(pair.memberId);
    if (!lags) this.byMember.set(pair.memberId, (lags = new Map()));
    const key = pairKey(pair);
    if (!lags.has(key)) lags.set(key, { ...pair, since: now, backoffMs: this.graceMs });
  }

  /**
   * The truth of the pair has just reached the member's stream: a member that lags is given the
   * whole grace period from then to report it, not from when it was first seen to lag (a truth
   * queued behind other messages, on a leader busy with a thousand sessions opening, may reach it
   * long after that).
   */
  told(pair: LaggingPair, now: number): void {
    const lag = this.byMember.get(pair.memberId)?.get(pairKey(pair));
    if (lag) lag.since = Math.max(lag.since, now);
  }

  caughtUp(pair: LaggingPair): void {
    const lags = this.byMember.get(pair.memberId);
    lags?.delete(pairKey(pair));
    if (lags?.size === 0) this.byMember.delete(pair.memberId);
  }

  /** The pairs the member lags on now. */
  pairsOf(memberId: string): LaggingPair[] {
    return [...(this.byMember.get(memberId)?.values() ?? [])];
  }

  /** The member's session ended: nothing is sent to it until it reports again. */
  forgetMember(memberId: string): void {
    this.byMember.delete(memberId);
  }

  reset(): void {
    this.byMember.clear();
  }

  /** Pairs that have lagged past the grace period and were not corrected within it; they count as corrected now. */
  due(now: number): LaggingPair[] {
    const due: LaggingPair[] = [];
    for (const lags of this.byMember.values()) {
      for (const lag of lags.values()) {
        if (now - lag.since < this.graceMs || (lag.correctedAt !== undefined && now - lag.correctedAt < lag.backoffMs)) continue;
        if (lag.correctedAt !== undefined) lag.backoffMs = Math.min(lag.backoffMs * 2, MAX_BACKOFF_MS);
        lag.correctedAt = now;
        due.push({ memberId: lag.memberId, networkId: lag.networkId, ownerId: lag.ownerId });
      }
    }
    return due;
  }
}

function pairKey(pair: LaggingPair): string {
  return `${pair.networkId}\n${pair.ownerId}`;
}
