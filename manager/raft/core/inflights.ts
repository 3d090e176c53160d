/**
 * The last indexes of append messages sent to one follower and not yet
 * acknowledged. Bounding them bounds what a slow follower costs the leader.
 */
export class Inflights {
  private lastIndexes: number[] = [];

  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    if (this.full()) throw new Error('inflights: window is full');
    this.lastIndexes.push(lastIndex);
  }

  /** An acknowledgement up to `index` frees every message that ended at or before it. */
  freeLE(index: number): void {
    this.lastIndexes = this.lastIndexes.filter((lastIndex) => lastIndex > index);
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  count(): number {
    return this.lastIndexes.length;
  }

  reset(): void {
    this.lastIndexes = [];
  }
}
