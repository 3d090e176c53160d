import { runSeed } from './run-seed';
import type { SeedOptions, SeedResult } from './run-seed';

function firstFailure(base: Omit<SeedOptions, 'seed'>, seeds: number): { seed: number; result: SeedResult } | undefined {
  for (let seed = 1; seed <= seeds; seed++) {
    const result = runSeed({ ...base, seed });
    if (!result.passed) return { seed, result };
  }
  return undefined;
}

describe('the Raft simulator', () => {
  it.each([3, 5])('keeps every invariant, stays live and linearizable over 200 seeds with %i nodes and every fault', (nodes) => {
    const failure = firstFailure({ nodes, steps: 300 }, 200);
    expect(failure).toBeUndefined();
  });

  it('catches reads served from a node’s local state without ReadIndex, so the checker can fail', () => {
    const failure = firstFailure({ nodes: 3, steps: 300, plantedBug: 'follower-reads' }, 50);
    expect(failure?.result).toMatchObject({ passed: false, check: 'linearizability' });
  });

  it('catches a driver that sends messages before persisting the state they depend on', () => {
    const failure = firstFailure({ nodes: 3, steps: 300, driverFlaw: 'send-before-persist' }, 10);
    expect(failure?.result).toMatchObject({ passed: false, check: 'message sent before its state was durable' });
  });

  it('replays a failing seed to the very same failure', () => {
    const options = { nodes: 5, steps: 300, plantedBug: 'follower-reads' } as const;
    const failure = firstFailure(options, 50);
    expect(failure).toBeDefined();
    if (failure) expect(runSeed({ ...options, seed: failure.seed })).toEqual(failure.result);
  });
});
