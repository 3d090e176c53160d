/**
 * Hands out the lowest free integer of a range, so every replica that applies
 * the same commands picks the same value. Used for VNIs and for addresses.
 *
 * Values outside the range may be reserved too (a static address outside the
 * dynamic ip_range, a gateway): they are then taken, but never handed out.
 */
export class LowestFreeAllocator {
  private readonly taken = new Set<number>();

  constructor(
    readonly first: number,
    readonly last: number,
  ) {}

  /** The lowest free value in [first, last], now taken; undefined when none is left. */
  allocate(): number | undefined {
    // Every step past a taken value is paid for by that value, so this is O(taken + 1).
    for (let candidate = this.first; candidate <= this.last; candidate++) {
      if (!this.taken.has(candidate)) {
        this.taken.add(candidate);
        return candidate;
      }
    }
    return undefined;
  }

  /** Takes a specific value; false if it was already taken. */
  reserve(value: number): boolean {
    if (this.taken.has(value)) return false;
    this.taken.add(value);
    return true;
  }

  release(value: number): void {
    this.taken.delete(value);
  }

  isTaken(value: number): boolean {
    return this.taken.has(value);
  }

  get takenCount(): number {
    return this.taken.size;
  }
}
