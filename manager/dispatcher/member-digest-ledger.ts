/** One state of a member's set: its digest, true from `revision` until the next change. */
export interface DigestAt {
  revision: number;
  digest: string;
}

/** How many past digests of one (network, owner) are kept: a member lagging further is only credited once it catches up. */
export const digestHistoryLength = 32;

/**
 * The leader's digests of what each gossiping owner holds on each network, with a short history of
 * how they changed: a member reports the digest it programmed, and the history says from which
 * revision on that set was the truth, so which endpoints it covers (those created at or before).
 * A pair is tracked from the first time it is asked about (`current` with a way to compute it);
 * from then on every change of the store that may touch it must be `record`ed. Not replicated:
 * a new leader starts empty and computes what it is asked, at its own revision (which still
 * covers every endpoint existing then).
 */
export class MemberDigestLedger {
  private readonly histories = new Map<string, Map<string, DigestAt[]>>();

  constructor(private readonly historyLength = digestHistoryLength) {}

  /** The pairs tracked, by network. */
  owners(networkId: string): Iterable<string> {
    return this.histories.get(networkId)?.keys() ?? [];
  }

  networks(): Iterable<string> {
    return this.histories.keys();
  }

  tracked(networkId: string, ownerId: string): boolean {
    return this.histories.get(networkId)?.has(ownerId) ?? false;
  }

  /** The current digest of a pair; `compute` gives it at `revision` the first time the pair is asked about. */
  current(networkId: string, ownerId: string, revision: number, compute: () => string): DigestAt {
    const history = this.historyOf(networkId, ownerId);
    const last = history[history.length - 1];
    if (last) return last;
    const first = { revision, digest: compute() };
    history.push(first);
    return first;
  }

  /** The pair's set is now `digest` at `revision`: true when that is a change (a pair not yet tracked starts here). */
  record(networkId: string, ownerId: string, revision: number, digest: string): boolean {
    const history = this.historyOf(networkId, ownerId);
    if (history[history.length - 1]?.digest === digest) return false;
    history.push({ revision, digest });
    if (history.length > this.historyLength) history.shift();
    return true;
  }

  /**
   * The newest revision from which a set with `digest` was the pair's truth, or 0 when no kept
   * state has it: a member that programmed that set holds every endpoint created at or before it
   * (and still there), since an endpoint is in every set from its creation until it is removed.
   */
  coveredUpTo(networkId: string, ownerId: string, digest: string): number {
    const history = this.histories.get(networkId)?.get(ownerId) ?? [];
    for (let i = history.length - 1; i >= 0; i -= 1) {
      const state = history[i];
      if (state?.digest === digest) return state.revision;
    }
    return 0;
  }

  /** The owner no longer hosts the network, or no longer gossips. */
  forget(networkId: string, ownerId: string): void {
    const owners = this.histories.get(networkId);
    owners?.delete(ownerId);
    if (owners?.size === 0) this.histories.delete(networkId);
  }

  reset(): void {
    this.histories.clear();
  }

  private historyOf(networkId: string, ownerId: string): DigestAt[] {
    let owners = this.histories.get(networkId);
    if (!owners) this.histories.set(networkId, (owners = new Map()));
    let history = owners.get(ownerId);
    if (!history) owners.set(ownerId, (history = []));
    return history;
  }
}
