import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LbService, LoadBalancer, NamespaceBalancing } from './model';
import { ServiceBalancing } from './service-balancing';

/** An engine over a map of namespace → the service keys it holds: enough to check which namespaces a sync reads and writes. */
class KeysEngine implements LoadBalancer<string[], { netns: string; keys: string[] }> {
  readonly engine = 'nftables';
  readonly vipPorts = 'every';
  readonly held = new Map<string, string[]>();
  readonly reads: string[][] = [];
  failing = new Set<string>();

  async observe(netns: readonly string[]): Promise<Map<string, string[]>> {
    this.reads.push([...netns]);
    return new Map(netns.filter((name) => this.held.has(name)).map((name) => [name, this.held.get(name) ?? []]));
  }

  plan(desired: readonly NamespaceBalancing[], observed: ReadonlyMap<string, string[]>): { netns: string; keys: string[] }[] {
    return desired
      .map((balancing) => ({ netns: balancing.netns, keys: balancing.services.map((service) => service.key) }))
      .filter((change) => JSON.stringify(observed.get(change.netns) ?? []) !== JSON.stringify(change.keys));
  }

  async apply(changes: readonly { netns: string; keys: string[] }[]): Promise<void> {
    const failed = changes.filter((change) => this.failing.has(change.netns));
    for (const change of changes) {
      if (this.failing.has(change.netns)) continue;
      if (change.keys.length === 0) this.held.delete(change.netns);
      else this.held.set(change.netns, change.keys);
    }
    if (failed.length > 0) throw new Error(`failed in ${failed.map((change) => change.netns).join(', ')}`);
  }
}

const service = (key: string, backends: string[]): LbService => ({
  key, vip: '10.231.1.100', ports: [{ protocol: 'tcp', port: 80, targetPort: 80 }],
  backends: backends.map((ip) => ({ ip, accepting: true })), tcpIdleTimeoutSeconds: 0, udpIdleTimeoutSeconds: 0,
});

describe('service balancing', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-balancing-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads on a full sync only namespaces that want services or are in the ledger, and on a scoped one only what changed', async () => {
    const engine = new KeysEngine();
    const balancing = new ServiceBalancing(engine, join(dir, 'ledger'));
    const web = service('web/n1', ['10.231.1.10']);
    const wanted = [{ netns: 'a', services: [web] }, { netns: 'b', services: [web] }, { netns: 'c', services: [] }];
    expect(await balancing.sync(wanted, 'full')).toMatchObject({ changes: 2, read: 2, failures: [] });
    expect(engine.held).toEqual(new Map([['a', ['web/n1']], ['b', ['web/n1']]]));
    expect(readFileSync(join(dir, 'ledger'), 'utf8')).toBe('a\nb\n');

    const moved = service('web/n1', ['10.231.1.11']);
    const changed = await balancing.sync([{ netns: 'a', services: [moved] }, wanted[1] as NamespaceBalancing, wanted[2] as NamespaceBalancing], 'scoped');
    expect(changed.read).toBe(1);
    expect(engine.reads.at(-1)).toEqual(['a']);

    // b's sandbox is gone: its leftovers are found through the ledger and removed, and the ledger forgets it.
    const after = await balancing.sync([{ netns: 'a', services: [moved] }], 'full');
    expect(after.failures).toEqual([]);
    expect(engine.held).toEqual(new Map([['a', ['web/n1']]]));
    expect(readFileSync(join(dir, 'ledger'), 'utf8')).toBe('a\n');

    // Someone removed a's rules by hand: the next full sync puts them back and counts it as drift.
    engine.held.delete('a');
    expect(await balancing.sync([{ netns: 'a', services: [moved] }], 'full')).toMatchObject({ changes: 1, drift: 1 });
    expect(engine.held.get('a')).toEqual(['web/n1']);
  });

  it('finds a crashed run’s namespaces through the ledger, and reports a service programmed only where every namespace holds it', async () => {
    const engine = new KeysEngine();
    engine.held.set('stale', ['old/n1']);
    const first = new ServiceBalancing(engine, join(dir, 'ledger'));
    const web = service('web/n1', ['10.231.1.10']);
    engine.failing.add('b');
    const outcome = await first.sync([{ netns: 'a', services: [web] }, { netns: 'b', services: [web] }], 'full');
    expect(outcome.failures).toEqual(['failed in b']);
    expect(outcome.programmed.has('web/n1')).toBe(false);

    // A restart: a new object, the same ledger (which still names b, where nothing was made).
    engine.failing.clear();
    const restarted = new ServiceBalancing(engine, join(dir, 'ledger'));
    const again = await restarted.sync([{ netns: 'a', services: [web] }, { netns: 'b', services: [web] }], 'full');
    expect(again.programmed).toEqual(new Set(['web/n1']));
    expect(engine.held.get('b')).toEqual(['web/n1']);
    expect(engine.held.has('stale')).toBe(true); // never in this agent's ledger: not ours
  });
});
