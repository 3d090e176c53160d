import { DigestLags } from './digest-lags';
import { GraceClock } from './grace-clock';

describe('GraceClock', () => {
  it('runs with the wall clock while the leader keeps up, and adds one step for a tick that comes late', () => {
    const wall = { now: 10_000 };
    const clock = new GraceClock(1_000, () => wall.now);
    wall.now += 400;
    expect(clock.now()).toBe(10_400);
    wall.now += 600;
    clock.tick(true);
    expect(clock.now()).toBe(11_000);
    // The event loop was held for 8 s: the ticks in between never ran.
    wall.now += 8_000;
    expect(clock.now()).toBe(12_000);
    clock.tick(true);
    wall.now += 500;
    expect(clock.now()).toBe(12_500);
  });

  it('stands still after an interval in which the leader never waited for input, and never goes back', () => {
    const wall = { now: 0 };
    const clock = new GraceClock(1_000, () => wall.now);
    wall.now = 1_000;
    clock.tick(false);
    expect(clock.now()).toBe(1_000);
    wall.now = 3_000;
    expect(clock.now()).toBe(1_000);
    clock.tick(false);
    wall.now = 3_500;
    expect(clock.now()).toBe(1_000);
    clock.tick(true);
    wall.now = 4_000;
    expect(clock.now()).toBe(1_500);
  });

  it('keeps a member that lagged while the leader was held from being corrected before the leader has read it', () => {
    const wall = { now: 0 };
    const clock = new GraceClock(1_000, () => wall.now);
    const lags = new DigestLags(2_000);
    const pair = { memberId: 'm', networkId: 'blue', ownerId: 'x' };
    lags.lagging(pair, clock.now());
    // A 5 s stall, then busy without a break: the member's report that catches up sits unread in the leader's socket.
    wall.now = 5_000;
    clock.tick(false);
    wall.now = 6_000;
    clock.tick(false);
    expect(lags.due(clock.now())).toEqual([]);
    // The loop waited for input again: it had read everything; had the member not caught up, it is due.
    wall.now = 7_000;
    clock.tick(true);
    wall.now = 8_000;
    clock.tick(true);
    expect(lags.due(clock.now())).toEqual([pair]);
  });
});
