/**
 * The time a grace period runs on: the time the leader kept up with what its agents send. It
 * moves with the wall clock, by at most one `stepMs` between two ticks, and only after a tick
 * interval in which the leader's event loop sat idle at some point: idle, it had read everything
 * its sockets held, so a member's report sent before then has been heard. A leader held (a thousand sessions
 * opening at once) or busy without a break has not read what its agents sent meanwhile: the time
 * it spent so is its own delay, not theirs, and must not make them lag past their grace.
 * Pure: the caller says when it ticks, whether it idled since the last tick, and what the wall clock reads.
 */
export class GraceClock {
  private base: number;
  private tickedAt: number;
  /** The leader idled during the last tick's interval: the clock runs until the next tick. */
  private running = true;

  constructor(
    private readonly stepMs: number,
    private readonly wall: () => number = Date.now,
  ) {
    this.tickedAt = wall();
    this.base = this.tickedAt;
  }

  now(): number {
    return this.running ? this.base + Math.min(Math.max(this.wall() - this.tickedAt, 0), this.stepMs) : this.base;
  }

  /**
   * Called every `stepMs` (a timer): a tick that comes late adds one step only. `idled`: the event
   * loop idled since the last tick; if not, the clock stands still until a tick after which it did
   * (it never goes back on a time it gave).
   */
  tick(idled: boolean): void {
    this.base = this.now();
    this.running = idled;
    this.tickedAt = this.wall();
  }
}
