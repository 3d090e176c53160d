import { setImmediate as nextTurn } from 'node:timers/promises';
import { inSlices } from './in-slices';

/** Holds the thread as a namespace's setns and netlink calls would. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('inSlices', () => {
  it('lets the event loop run between items once a slice is used up, and does every item in order', async () => {
    const events: string[] = [];
    let ticking = true;
    const ticker = (async () => {
      while (ticking) {
        events.push('turn');
        await nextTurn();
      }
    })();
    await inSlices([1, 2, 3, 4], (item) => {
      busy(6);
      events.push(`item ${item}`);
    });
    ticking = false;
    await ticker;
    const items = events.filter((event) => event.startsWith('item'));
    expect(items).toEqual(['item 1', 'item 2', 'item 3', 'item 4']);
    // Between any two items that each held the thread longer than a slice, the loop had a turn.
    for (let index = 1; index < items.length; index += 1) {
      const between = events.slice(events.indexOf(items[index - 1] ?? ''), events.indexOf(items[index] ?? ''));
      expect(between).toContain('turn');
    }
  });
});
