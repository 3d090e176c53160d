import type { Logger } from 'pino';
import type { ClusterState } from './cluster-state';

/*
 * The leader ends drains: when a draining endpoint's drain has ended, it proposes its removal
 * (finishDrain). The records hold each drain's end, so a new leader picks up every drain under way
 * when it takes over and none hangs. Followers do nothing: a finishDrain from two leaders in turn is
 * harmless (the second is refused, changing nothing).
 */

/** At most this many endpoints per finishDrain: thousands of drains ending at once go in a few entries, not one huge one. */
export const FINISH_BATCH = 1000;
/** The longest wait between looks: a timer far in the future is not trusted to fire on time (clock changes, timer limits). */
const MAX_WAIT_MS = 60_000;
/** After a failed proposal (no quorum, leadership lost), the next try. */
const RETRY_MS = 1000;

export interface Drain {
  endpointId: string;
  drainEndsAtMs: number;
}

/** What to do at `now`: the endpoints to remove (a batch of those whose drain ended), and when to look again. */
export function drainPlan(drains: readonly Drain[], now: number): { due: string[]; nextLookMs: number | undefined } {
  const due = drains.filter((drain) => drain.drainEndsAtMs <= now).map((drain) => drain.endpointId);
  if (due.length > 0) return { due: due.slice(0, FINISH_BATCH), nextLookMs: undefined };
  const next = Math.min(...drains.map((drain) => drain.drainEndsAtMs));
  return { due: [], nextLookMs: Number.isFinite(next) ? Math.min(next - now, MAX_WAIT_MS) : undefined };
}

/** Runs the leader's drain loop on `cluster` until the returned stop is called. */
export function finishDrainsWhenDue(cluster: ClusterState, logger: Logger, now: () => number = Date.now): () => void {
  let timer: NodeJS.Timeout | undefined;
  let proposing = false;
  let stopped = false;
  const wake = (afterMs: number): void => {
    clearTimeout(timer);
    timer = setTimeout(look, Math.max(0, afterMs));
  };
  function retry(error: unknown): void {
    logger.warn({ err: error }, 'could not end drains yet; retrying');
    if (!stopped) wake(RETRY_MS);
  }
  function look(): void {
    clearTimeout(timer);
    timer = undefined;
    if (stopped || proposing || !cluster.isLeader()) return;
    const at = now();
    const plan = drainPlan(cluster.store.drains(), at);
    if (plan.nextLookMs !== undefined) wake(plan.nextLookMs);
    if (plan.due.length === 0) return;
    proposing = true;
    cluster
      .propose({ type: 'finishDrain', endpointIds: plan.due, at })
      .then((result) => {
        proposing = false;
        if (!result.ok) return retry(result.error);
        logger.info({ endpoints: result.value.map((endpoint) => `${endpoint.sandboxName} on ${endpoint.networkName}`) }, 'drains ended: endpoints removed');
        look();
      })
      .catch((error: unknown) => {
        proposing = false;
        retry(error);
      });
  }
  const stopChanges = cluster.onChange(look);
  const stopLeading = cluster.onLeadershipChange(look);
  look();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stopChanges();
    stopLeading();
  };
}
