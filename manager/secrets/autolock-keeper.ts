import type { Logger } from 'pino';
import type { ClusterState } from '../cluster/cluster-state';
import type { ClusterSecurityRecord } from '../store';

const RETRY_MS = 200;

/** What the keeper watches: the replicated store, and how far this replica has applied it. */
export type FollowedCluster = Pick<ClusterState, 'store' | 'readBarrier' | 'onChange'> & { status(): { applied: number } };
import type { ClusterKey } from './cluster-key';
import { writeKeyFile } from './key-file';

/**
 * Keeps this manager's data key file wrapped the way the replicated store says: under the unlock
 * key while autolock is on (rotations included), under a key beside it while it is off. Every
 * manager rewraps its own file when it applies the change, so all of them lock and unlock with
 * the same key, and after a rotation the old key opens none of them.
 */
export class AutolockKeeper {
  /** The sealed unlock key last looked at (undefined: autolock off); null before the first look. */
  private lastSealed: string | undefined | null = null;
  private work: Promise<void> = Promise.resolve();

  /** `wrappedUnder`: the unlock key the file is wrapped under now, undefined when it is not. */
  constructor(
    private readonly dataDir: string,
    private readonly clusterKey: ClusterKey,
    private wrappedUnder: string | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * Follows the store once this replica has caught up, not before: replaying its own log after a
   * restart passes through older states (autolock off, an old key), and rewrapping for those would
   * put a key that opens the data key back on disk. Caught up means it has applied past every entry
   * its log held at start (`lastIndexAtStart`), or a read barrier has confirmed it is current,
   * whichever comes first. Returns the way to stop.
   */
  followCaughtUp(cluster: FollowedCluster, lastIndexAtStart: number): () => void {
    let caughtUp = false;
    let stopped = false;
    const catchUp = (): void => {
      if (caughtUp || stopped) return;
      caughtUp = true;
      this.follow(cluster.store.security());
    };
    const unsubscribe = cluster.onChange(() => {
      if (caughtUp) this.follow(cluster.store.security());
      else if (cluster.status().applied > lastIndexAtStart) catchUp();
    });
    void (async () => {
      while (!caughtUp && !stopped) {
        try {
          await cluster.readBarrier();
          catchUp();
        } catch {
          // No leader yet: asked again, until caught up or stopped (after a pause: a stopped cluster refuses at once).
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
        }
      }
    })();
    return () => {
      stopped = true;
      unsubscribe();
    };
  }

  /** Called with the store's security record after it changed; rewrites the file when its wrapping no longer fits. */
  follow(record: ClusterSecurityRecord | undefined): void {
    if (!record || record.unlockKeySealed === this.lastSealed) return;
    this.lastSealed = record.unlockKeySealed;
    const wanted = this.clusterKey.unlockKey(record);
    this.work = this.work.then(() => this.rewrap(wanted));
  }

  /** Resolves once every rewrap asked for so far is on disk (tests, shutdown). */
  settled(): Promise<void> {
    return this.work;
  }

  private async rewrap(unlockKey: string | undefined): Promise<void> {
    if (unlockKey === this.wrappedUnder) return;
    try {
      await writeKeyFile(this.dataDir, this.clusterKey.bytes(), unlockKey === undefined ? { kind: 'none' } : { kind: 'unlock-key', unlockKey });
      this.wrappedUnder = unlockKey;
      this.logger.info(
        unlockKey === undefined
          ? 'autolock off: data key file rewrapped with a key kept beside it; a restart needs no unlock key'
          : 'autolock on: data key file rewrapped under the current unlock key; a restart needs `trellis cluster unlock`',
      );
    } catch (error) {
      this.logger.error({ err: error }, 'could not rewrap the data key file; it keeps its previous wrapping');
    }
  }
}
