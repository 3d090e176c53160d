import fc from 'fast-check';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { Store } from './store';
import { gossipCluster, viewCommand, withDistinctIds } from './test-commands';
import { must, twoNodeStore } from './test-fixtures';

describe('Store.memberEntries', () => {
  it("gives a member's endpoints on a network with the fields its endpoints' views have, by address, not ready", () => {
    const store = twoNodeStore();
    must(store, { type: 'createService', id: 'api-svc', name: 'api', networks: ['front'] });
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api-1', node: 'node-b' });
    must(store, { type: 'connect', endpointId: 'ep-api', network: 'front', sandbox: 'api-1', ip: '10.0.1.20', aliases: ['api', 'v1'], hostname: 'api-host', service: 'api' });
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'connect', endpointId: 'ep-db-back', network: 'back', sandbox: 'db', aliases: [] });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'api-1', at: 1_000 });

    const entries = store.memberEntries('front-id', 'node-b-id');
    expect(entries.map((entry) => entry.endpointId)).toEqual(['ep-db-front', 'ep-api']);
    // Each with the values of the endpoint's view, as node-a's view has it.
    const views = new Map(store.nodeView('node-a-id').endpoints.map((view) => [view.id, view]));
    for (const entry of entries) {
      const view = views.get(entry.endpointId);
      expect(entry).toEqual({
        endpointId: view?.id,
        ip: view?.ip,
        prefixLength: view?.prefixLength,
        mac: view?.mac,
        vtep: '192.168.0.2',
        sandboxId: view?.sandboxId,
        sandboxName: view?.sandboxName,
        hostname: view?.hostname,
        aliases: view?.aliases,
        serviceId: view?.serviceId,
        draining: view?.draining,
        ready: false,
      });
    }
    expect(entries[1]).toMatchObject({ hostname: 'api-host', aliases: ['api', 'v1'], serviceId: 'api-svc', draining: true, sandboxName: 'api-1' });
    expect(store.memberDigest('front-id', 'node-b-id')).toBe(gossipEntryDigest(entries));
  });

  it('is empty for a node that does not host the network, and for unknown ones', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    expect(store.memberEntries('back-id', 'node-a-id')).toEqual([]);
    expect(store.memberEntries('nope', 'node-a-id')).toEqual([]);
    expect(store.memberEntries('front-id', 'nope')).toEqual([]);
    expect(store.memberDigest('back-id', 'node-a-id')).toBe(gossipEntryDigest([]));
  });

  it("changes its digest when the member's address changes (the vtep of every entry)", () => {
    const store = twoNodeStore();
    const before = store.memberDigest('front-id', 'node-b-id');
    must(store, { type: 'registerNode', id: 'unused', name: 'node-b', advertiseAddr: '192.168.0.22' });
    expect(store.memberDigest('front-id', 'node-b-id')).not.toBe(before);
    expect(store.memberEntries('front-id', 'node-b-id').map((entry) => entry.vtep)).toEqual(['192.168.0.22']);
  });
});

describe('Store.changedMemberSets', () => {
  it('names every (network, member) whose digest changed between two revisions, for random command sequences', () => {
    fc.assert(
      fc.property(fc.array(viewCommand, { maxLength: 60 }), fc.nat(60), (generated, fromAt) => {
        const store = new Store();
        for (const command of gossipCluster) must(store, command);
        const digests = (): Map<string, string> => {
          const all = new Map<string, string>();
          for (const networkId of store.networkIds()) {
            for (const node of store.nodes()) all.set(JSON.stringify([networkId, node.id]), store.memberDigest(networkId, node.id));
          }
          return all;
        };
        let from = store.revision;
        let before = digests();
        generated.map((command, index) => withDistinctIds(command, index + gossipCluster.length)).forEach((next, index) => {
          if (index === fromAt) {
            from = store.revision;
            before = digests();
          }
          store.apply(next);
        });
        const named = new Set(store.changedMemberSets(store.changesSince(from) ?? fail('journal too short')).map((pair) => JSON.stringify([pair.networkId, pair.nodeId])));
        const none = gossipEntryDigest([]);
        for (const [pair, digest] of digests()) if ((before.get(pair) ?? none) !== digest) expect([...named]).toContain(pair);
        // A member that left a network (or a network that went) had a digest of something: named too.
        for (const [pair, digest] of before) if (digest !== none && !digests().has(pair)) expect([...named]).toContain(pair);
      }),
    );
  });

  it('names only the members whose endpoints or address were written', () => {
    const store = twoNodeStore();
    const from = store.revision;
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-b' });
    must(store, { type: 'connect', endpointId: 'ep-api', network: 'front', sandbox: 'api', aliases: [] });
    expect(store.changedMemberSets(store.changesSince(from) ?? fail('journal too short'))).toEqual([{ networkId: 'front-id', nodeId: 'node-b-id' }]);
  });
});

function fail(message: string): never {
  throw new Error(message);
}
