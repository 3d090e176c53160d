import type { Logger } from 'pino';
import type { ClusterState } from '../cluster/cluster-state';
import type { ClusterSecurityRecord } from '../store';
import type { ClusterKey } from './cluster-key';
import { writeKeyFile } from './key-file';

const RETRY_MS = 200;

/** What the keeper watches: the replicated store, and how far this replica has applied it. */
export type FollowedCluster = Pick<ClusterState, 'store' | 'readBarrier' | 'onChange' | 'isLeader'> & { status(): { applied: number } };

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
   * Follows the store's autolock setting. Replaying the log after a restart, or catching up with
   * the leader, passes through older states; rewrapping for an "autolock off" among them would put
   * a key that opens the data key on disk while the cluster is locked. So until a read barrier has
   * confirmed this replica is current, only changes past the entries its log held at start
   * (`lastIndexAtStart`) are followed, and only towards a locked file (on, or a rotated key); once
   * confirmed, every change is. A leader past those entries is current by definition (it holds
   * every committed entry). Returns the way to stop.
   */
  followCaughtUp(cluster: FollowedCluster, lastIndexAtStart: number): () => void {
    let confirmed = false;
    let stopped = false;
    const unsubscribe = cluster.onChange(() => {
      const pastStart = cluster.status().applied > lastIndexAtStart;
      confirmed ||= pastStart && cluster.isLeader();
      if (confirmed || pastStart) this.follow(cluster.store.security(), confirmed);
    });
    void (async () => {
      while (!confirmed && !stopped) {
        try {
          await cluster.readBarrier();
          confirmed = true;
          if (!stopped) this.follow(cluster.store.security(), true);
        } catch {
          // No leader yet: asked again, until confirmed or stopped (after a pause: a stopped cluster refuses at once).
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
        }
      }
    })();
    return () => {
      stopped = true;
      unsubscribe();
    };
  }

  /**
   * Rewrites the file when its wrapping no longer fits the store's security record;
   * `mayUnlock`: whether "autolock off" may be followed yet (see followCaughtUp).
   */
  follow(record: ClusterSecurityRecord | undefined, mayUnlock: boolean): void {
    if (!record || record.unlockKeySealed === this.lastSealed) return;
    if (record.unlockKeySealed === undefined && !mayUnlock) return;
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
