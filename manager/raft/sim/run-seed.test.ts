import { RawNode } from '../core';
import type { Entry, RaftConfig } from '../core';
import type { Raft } from '../core/raft';
import { runSeed } from './run-seed';
import type { SeedOptions, SeedResult } from './run-seed';

function firstFailure(base: Omit<SeedOptions, 'seed'>, seeds: number): { seed: number; result: SeedResult } | undefined {
  for (let seed = 1; seed <= seeds; seed++) {
    const result = runSeed({ ...base, seed });
    if (!result.passed) return { seed, result };
  }
  return undefined;
}

/**
 * A core with the bug that sending before the leader's sync would expose: the
 * leader counts its own entries toward a quorum as soon as it appends them,
 * before the driver reports them persisted. It reaches into the core's private
 * appendEntries on purpose; only this test needs to.
 */
function leaderCountsItselfEarly(config: RaftConfig): RawNode {
  const node = new RawNode(config);
  const raft = (node as unknown as { raft: Raft }).raft;
  const patchable = raft as unknown as { appendEntries(entries: Array<Pick<Entry, 'type' | 'data'>>): void };
  const appendEntries = patchable.appendEntries.bind(raft);
  patchable.appendEntries = (entries) => {
    appendEntries(entries);
    if (raft.role !== 'leader') return;
    raft.tracker.progress.get(raft.id)?.maybeUpdate(raft.log.lastIndex());
    raft.maybeCommit();
  };
  return node;
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

  it('keeps every invariant over 100 seeds with the strict driver order too', () => {
    const failure = firstFailure({ nodes: 3, steps: 300, driverOrder: 'strict' }, 100);
    expect(failure).toBeUndefined();
  });

  it.each(['send-before-persist', 'follower-sends-before-persist', 'term-vote-sends-before-persist'] as const)(
    'catches a driver that sends before persisting beyond what production allows (%s)',
    (driverFlaw) => {
      const failure = firstFailure({ nodes: 3, steps: 300, driverFlaw }, 10);
      expect(failure?.result).toMatchObject({ passed: false, check: 'message sent before its state was durable' });
    },
  );

  it('catches a core that counts the leader before its entries are persisted, now that the leader sends before its sync', () => {
    const failure = firstFailure({ nodes: 3, steps: 300, createRaftNode: leaderCountsItselfEarly }, 100);
    expect(failure?.result).toMatchObject({ passed: false, check: 'committed entries are durable on a quorum' });
  });

  it('replays a failing seed to the very same failure', () => {
    const options = { nodes: 5, steps: 300, plantedBug: 'follower-reads' } as const;
    const failure = firstFailure(options, 50);
    expect(failure).toBeDefined();
    if (failure) expect(runSeed({ ...options, seed: failure.seed })).toEqual(failure.result);
  });
});
