import fc from 'fast-check';
import type { Command } from './commands';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

/*
 * Drains under random interleavings of leaving, joining, removing sandboxes, changing the drain
 * timeout and the leader ending drains at moving times: replicas (one restored from a snapshot
 * midway) decide alike, a refused command changes nothing, a sandbox being removed holds only
 * draining endpoints, and once every drain has ended nothing drains and nothing is left half removed.
 */

const boxes = ['b1', 'b2', 'b3', 'b4'];
const box = fc.constantFrom(...boxes);
const net = fc.constantFrom('front', 'back');
const time = fc.constantFrom(0, 2_000, 5_000, 7_000, 31_000, 60_000);

const step: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant('connect' as const), endpointId: fc.constant(''), network: net, sandbox: box, aliases: fc.constant([]), service: fc.constantFrom(undefined, 'api', 'api') }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('disconnect' as const), network: net, sandbox: box, at: fc.constantFrom(undefined, 0, 0, 2_000, 2_000), force: fc.constantFrom(undefined, false, false, true) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('removeSandbox' as const), sandbox: box, at: fc.constantFrom(undefined, 0, 2_000) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('createSandbox' as const), id: fc.constant(''), name: box, node: fc.constantFrom('node-a', 'node-b') }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('updateService' as const), service: fc.constant('api'), drainTimeoutSeconds: fc.constantFrom(0, 5, 30) }) },
  // The endpoint ids are the draining ones when it runs, as the leader's loop proposes them.
  { weight: 2, arbitrary: fc.record({ type: fc.constant('finishDrain' as const), endpointIds: fc.constant([]), at: time }) },
);

function setup(): Store {
  const store = twoNodeStore();
  must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
  must(store, { type: 'createService', id: 'api-id', name: 'api', networks: ['front', 'back'] });
  for (const name of boxes) must(store, { type: 'createSandbox', id: `${name}-id-0123456789`, name, node: 'node-a' });
  return store;
}

/** Distinct ids, and a finishDrain naming what drains now. */
function concrete(store: Store, command: Command, index: number): Command {
  const id = `gen-${index}`.padEnd(12, '0');
  if (command.type === 'connect') return { ...command, endpointId: id };
  if (command.type === 'createSandbox') return { ...command, id };
  if (command.type === 'finishDrain') return { ...command, endpointIds: store.drains().map((drain) => drain.endpointId) };
  return command;
}

describe('drains under random interleavings', () => {
  it('decide alike on every replica, refuse without change, and leave nothing half removed', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 10, maxLength: 60 }), fc.nat(60), (generated, restoreAt) => {
        const store = setup();
        const follower = setup();
        let restored: Store | undefined;
        generated.forEach((drawn, index) => {
          if (index === restoreAt) restored = Store.restore(store.snapshot());
          const command = concrete(store, drawn, index);
          const before = store.snapshot();
          const result = store.apply(command);
          if (!result.ok) expect(store.snapshot()).toEqual(before);
          expect(follower.apply(command)).toEqual(result);
          if (restored) expect(restored.apply(command)).toEqual(result);
          for (const sandbox of store.sandboxes().filter((candidate) => candidate.removing)) {
            expect(sandbox.endpoints.length).toBeGreaterThan(0);
            expect(sandbox.endpoints.every((endpoint) => endpoint.draining)).toBe(true);
          }
        });
        expect(follower.snapshot()).toEqual(store.snapshot());
        if (restored) expect(restored.snapshot()).toEqual(store.snapshot());

        const draining = store.drains().map((drain) => drain.endpointId);
        if (draining.length > 0) must(store, { type: 'finishDrain', endpointIds: draining, at: Number.MAX_SAFE_INTEGER });
        expect(store.drains()).toEqual([]);
        expect(store.sandboxes().filter((sandbox) => sandbox.removing)).toEqual([]);
        expect(store.service('api')?.backends.filter((endpoint) => endpoint.draining)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
