import type { ApplyResult, Command, Store } from '../store';

/**
 * The replicated store as the APIs see it, whatever replicates it. Reads of
 * `store` are linearizable after `readBarrier()` resolves.
 */
export interface ClusterState {
  readonly store: Store;
  /** Commits the command through the log (forwarded to the leader if need be) and returns the store's result. */
  propose<C extends Command>(command: C): Promise<ApplyResult<C>>;
  /** Resolves once this replica has applied everything committed before the call. */
  readBarrier(): Promise<void>;
  /** Calls `listener` after every successful apply on this replica; returns the unsubscribe. */
  onChange(listener: (revision: number) => void): () => void;
  /** Whether this manager leads now; the dispatcher serves agents only there. */
  isLeader(): boolean;
  /** Address of the current leader's API, if one is known. */
  leaderAddress(): string | undefined;
  /** Calls `listener` whenever this manager gains or loses leadership. */
  onLeadershipChange(listener: (leading: boolean) => void): () => void;
}

/** A refusal the API maps to UNAVAILABLE: no leader, lost leadership, write not committed in time. */
export class ClusterUnavailableError extends Error {}
