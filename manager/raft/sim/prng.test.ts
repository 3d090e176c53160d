import { Prng } from './prng';

describe('Prng', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const draw = (seed: number): number[] => {
      const prng = new Prng(seed);
      return Array.from({ length: 5 }, () => prng.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('stays within its bounds', () => {
    const prng = new Prng(1);
    for (let n = 0; n < 1000; n++) {
      const value = prng.next();
      expect(value >= 0 && value < 1).toBe(true);
      expect(prng.int(3)).toBeLessThan(3);
    }
  });

  it('shuffles into a permutation of the same items', () => {
    expect(new Prng(5).shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
