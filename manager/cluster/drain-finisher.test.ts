import pino from 'pino';
import type { ApplyResult, Command } from '../store';
import { Store } from '../store';
import { must, twoNodeStore } from '../store/test-fixtures';
import type { ClusterState } from './cluster-state';
import { drainPlan, finishDrainsWhenDue, FINISH_BATCH } from './drain-finisher';

describe('drainPlan', () => {
  it('removes the drains that ended, and otherwise looks again when the next one ends (within a minute)', () => {
    const drains = [
      { endpointId: 'a', drainEndsAtMs: 1_000 },
      { endpointId: 'b', drainEndsAtMs: 5_000 },
      { endpointId: 'c', drainEndsAtMs: 500_000 },
    ];
    expect(drainPlan(drains, 1_000)).toEqual({ due: ['a'], nextLookMs: undefined });
    expect(drainPlan(drains, 999)).toEqual({ due: [], nextLookMs: 1 });
    expect(drainPlan(drains.slice(2), 0)).toEqual({ due: [], nextLookMs: 60_000 });
    expect(drainPlan([], 0)).toEqual({ due: [], nextLookMs: undefined });
  });

  it('removes at most a batch at a time', () => {
    const many = Array.from({ length: FINISH_BATCH + 5 }, (_, index) => ({ endpointId: `e${index}`, drainEndsAtMs: 0 }));
    expect(drainPlan(many, 1).due).toHaveLength(FINISH_BATCH);
  });
});

/** A cluster of one replica in memory whose leadership the test moves: the loop's only edge is this interface. */
class FakeCluster implements ClusterState {
  leading = false;
  readonly proposed: Command[] = [];
  private readonly changeListeners: ((revision: number) => void)[] = [];
  private readonly leaderListeners: ((leading: boolean) => void)[] = [];

  constructor(readonly store: Store) {}

  async propose<C extends Command>(command: C): Promise<ApplyResult<C>> {
    this.proposed.push(command);
    const result = this.store.apply(command);
    if (result.ok) for (const listener of this.changeListeners) listener(this.store.revision);
    return result;
  }
  async readBarrier(): Promise<void> {}
  onChange(listener: (revision: number) => void): () => void {
    this.changeListeners.push(listener);
    return () => undefined;
  }
  isLeader(): boolean {
    return this.leading;
  }
  leaderAddress(): string | undefined {
    return undefined;
  }
  onLeadershipChange(listener: (leading: boolean) => void): () => void {
    this.leaderListeners.push(listener);
    return () => undefined;
  }
  lead(): void {
    this.leading = true;
    for (const listener of this.leaderListeners) listener(true);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the leader ending drains', () => {
  it('does nothing on a follower, and ends every drain that has ended once it leads (as a new leader does)', async () => {
    const store = twoNodeStore();
    must(store, { type: 'createService', id: 'api-id', name: 'api', networks: ['front'] });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'db' });
    must(store, { type: 'connect', endpointId: 'ep-db', network: 'front', sandbox: 'db', aliases: [], service: 'api' });
    must(store, { type: 'removeSandbox', sandbox: 'db', at: 1_000 });
    const cluster = new FakeCluster(store);
    const stop = finishDrainsWhenDue(cluster, pino({ level: 'silent' }), () => 40_000);
    try {
      await settle();
      expect(cluster.proposed).toEqual([]);
      expect(store.sandbox('db')).toMatchObject({ removing: true });

      cluster.lead();
      await settle();
      expect(cluster.proposed).toEqual([{ type: 'finishDrain', endpointIds: ['ep-db'], at: 40_000 }]);
      expect(store.sandbox('db')).toBeUndefined();
      expect(store.drains()).toEqual([]);
    } finally {
      stop();
    }
  });

  it('leaves a drain that has not ended alone', async () => {
    const store = twoNodeStore();
    must(store, { type: 'createService', id: 'api-id', name: 'api', networks: ['front'] });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'db' });
    must(store, { type: 'connect', endpointId: 'ep-db', network: 'front', sandbox: 'db', aliases: [], service: 'api' });
    const cluster = new FakeCluster(Store.restore(store.snapshot()));
    cluster.leading = true;
    const stop = finishDrainsWhenDue(cluster, pino({ level: 'silent' }), () => 10_000);
    try {
      await cluster.propose({ type: 'disconnect', network: 'front', sandbox: 'db', at: 10_000 });
      await settle();
      expect(cluster.proposed.map((command) => command.type)).toEqual(['disconnect']);
      expect(cluster.store.drains()).toEqual([{ endpointId: 'ep-db', drainEndsAtMs: 40_000 }]);
    } finally {
      stop();
    }
  });
});
