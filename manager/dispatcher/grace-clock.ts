/**
 * The time a grace period runs on: wall time while the leader keeps up, but no more than one
 * `stepMs` between two ticks. A leader whose event loop was held (a thousand sessions opening at
 * once) has not read what its agents sent meanwhile: their reports sit in its sockets, so the
 * time it was busy is its own delay, not theirs, and must not make them lag past their grace.
 * Pure: the caller says when it ticks and what the wall clock reads.
 */
export class GraceClock {
  private base: number;
  private tickedAt: number;

  constructor(
    private readonly stepMs: number,
    private readonly wall: () => number = Date.now,
  ) {
    this.tickedAt = wall();
    this.base = this.tickedAt;
  }

  now(): number {
    return this.base + Math.min(Math.max(this.wall() - this.tickedAt, 0), this.stepMs);
  }

  /** Called every `stepMs` (a timer): a tick that comes late adds one step only. */
  tick(): void {
    this.base = this.now();
    this.tickedAt = this.wall();
  }
}
