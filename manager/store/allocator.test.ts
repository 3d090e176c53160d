import fc from 'fast-check';
import { LowestFreeAllocator } from './allocator';

describe('LowestFreeAllocator', () => {
  it('hands out the lowest free value, reusing released ones first', () => {
    const pool = new LowestFreeAllocator(10, 13);
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual([10, 11, 12]);
    pool.release(11);
    expect(pool.allocate()).toBe(11);
    expect(pool.allocate()).toBe(13);
    expect(pool.allocate()).toBeUndefined();
  });

  it('skips reserved values and refuses to reserve a taken one', () => {
    const pool = new LowestFreeAllocator(1, 5);
    expect(pool.reserve(1)).toBe(true);
    expect(pool.reserve(3)).toBe(true);
    expect(pool.reserve(3)).toBe(false);
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual([2, 4, 5]);
  });

  it('lets values outside the range be reserved without ever handing them out', () => {
    const pool = new LowestFreeAllocator(5, 6);
    expect(pool.reserve(1)).toBe(true);
    expect(pool.isTaken(1)).toBe(true);
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual([5, 6, undefined]);
  });

  type Step = { kind: 'allocate' } | { kind: 'release'; pick: number } | { kind: 'reserve'; value: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.constant<Step>({ kind: 'allocate' }),
    fc.nat().map<Step>((pick) => ({ kind: 'release', pick })),
    fc.integer({ min: 0, max: 40 }).map<Step>((value) => ({ kind: 'reserve', value })),
  );

  it('never hands out a value twice, and releasing everything empties it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), fc.array(step, { maxLength: 200 }), (first, span, steps) => {
        const pool = new LowestFreeAllocator(first, first + span);
        const held = new Set<number>();
        for (const s of steps) {
          if (s.kind === 'allocate') {
            const value = pool.allocate();
            if (value === undefined) {
              for (let v = first; v <= first + span; v++) expect(held.has(v)).toBe(true);
            } else {
              expect(held.has(value)).toBe(false);
              expect(value).toBeGreaterThanOrEqual(first);
              expect(value).toBeLessThanOrEqual(first + span);
              held.add(value);
            }
          } else if (s.kind === 'reserve') {
            expect(pool.reserve(s.value)).toBe(!held.has(s.value));
            held.add(s.value);
          } else if (held.size > 0) {
            const values = [...held];
            const value = values[s.pick % values.length]!;
            pool.release(value);
            held.delete(value);
          }
          expect(pool.takenCount).toBe(held.size);
        }
        for (const value of held) pool.release(value);
        expect(pool.takenCount).toBe(0);
      }),
    );
  });
});
