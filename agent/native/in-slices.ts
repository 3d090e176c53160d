import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long synchronous namespace work may hold the event loop before letting it run. */
const SLICE_MS = 5;

/**
 * Runs synchronous `work` (setns and netlink calls, which must not be interleaved with anything
 * else on this thread) over `items`, handing the event loop a turn whenever a slice of SLICE_MS
 * is used up: a pass over a thousand namespaces then never stalls gRPC keepalives or timers for
 * more than a few milliseconds.
 */
export async function inSlices<T>(items: Iterable<T>, work: (item: T) => void): Promise<void> {
  let sliceStarted = performance.now();
  for (const item of items) {
    if (performance.now() - sliceStarted >= SLICE_MS) {
      await nextTurn();
      sliceStarted = performance.now();
    }
    work(item);
  }
}
