import fc from 'fast-check';
import { checkCommand } from './command-schema';
import type { ApplyResult, Command } from './commands';
import { Store } from './store';
import { validShapedCommand } from './test-commands';
import { must, twoNodeStore } from './test-fixtures';

/*
 * Whatever a log entry holds, `Store.apply` answers and never throws, and a refused
 * command changes nothing: a poisoned entry must not stop a replica, nor make replicas differ.
 */

/** Some state for commands to hit: nodes, a network, sandboxes with endpoints, a service, the cluster's CA. */
function storeWithState(): Store {
  const store = twoNodeStore();
  must(store, { type: 'createService', id: 'svc-id', name: 'svc', networks: ['front'], ports: [{ targetPort: 80 }] });
  must(store, {
    type: 'initSecurity',
    security: {
      clusterId: 'cluster-1',
      caCertPem: 'CERT',
      caKeySealed: `sealed:v1:${'K'.repeat(48)}`,
      joinSecretsSealed: { worker: `sealed:v1:${'W'.repeat(48)}`, manager: `sealed:v1:${'M'.repeat(48)}` },
      certValiditySeconds: 3600,
    },
  });
  return store;
}

/** JSON-ish trees: what a decoded entry may hold, and what a careless caller in process may pass. */
type Tree = unknown;

const garbage: fc.Arbitrary<Tree> = fc.oneof(
  fc.anything(),
  fc.constantFrom(NaN, Infinity, -Infinity, -1, -0.5, 1.5, 2 ** 32, 2 ** 53, 1e300, null, undefined, true, '', '__proto__', 'toString', 'constructor'),
  fc.constant('x'.repeat(70_000)),
  fc.constant(Array.from({ length: 5000 }, () => 'a')),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "toString": "x"}') as Tree),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('__proto__', 'toString', 'a', 'subnet'), fc.anything(), { maxKeys: 3 }),
);

/** The paths of every value in a tree (objects and lists included), the root first. */
function paths(tree: Tree, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(tree)) return here.concat(...tree.map((item, index) => paths(item, [...prefix, index])));
  if (typeof tree === 'object' && tree !== null) return here.concat(...Object.keys(tree).map((key) => paths((tree as Record<string, Tree>)[key], [...prefix, key])));
  return here;
}

type Mutation = 'remove' | 'replace' | 'add-field' | 'retype';

/** `command` with one value (a field, a list element, a nested field) removed or replaced by garbage, a field added, or its type changed. */
function mutated(command: Command, pick: number, mutation: Mutation, value: Tree, name: string): Tree {
  const copy: Record<string, Tree> = { ...structuredClone(command) };
  if (mutation === 'retype') return { ...copy, type: value ?? name };
  const all = paths(copy).filter((path) => path.length > 0);
  const path = all[pick % Math.max(all.length, 1)];
  if (!path) return mutation === 'add-field' ? copy : value;
  const parent = path.slice(0, -1).reduce<Tree>((node, key) => (node as Record<string | number, Tree>)[key], copy) as Record<string | number, Tree>;
  const key = path[path.length - 1] as string | number;
  if (mutation === 'remove') delete parent[key];
  else if (mutation === 'replace') parent[key] = value;
  else Object.defineProperty(parent, name, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const poisoned: fc.Arbitrary<Tree> = fc.oneof(
  garbage,
  fc
    .tuple(validShapedCommand, fc.nat(), fc.constantFrom<Mutation>('remove', 'replace', 'add-field', 'retype'), garbage, fc.constantFrom('__proto__', 'toString', 'extra', 'type'))
    .map(([command, pick, mutation, value, name]) => mutated(command, pick, mutation, value, name)),
);

/** As it would come out of the log: through JSON when it survives the trip (NaN becomes null, undefined fields vanish). */
function decoded(tree: Tree, viaJson: boolean): Tree {
  const text = viaJson ? JSON.stringify(tree) : undefined;
  return text === undefined ? tree : (JSON.parse(text) as Tree);
}

function applyAnything(store: Store, tree: Tree): ApplyResult {
  let result: ApplyResult | undefined;
  expect(() => (result = store.apply(tree as Command))).not.toThrow();
  if (!result) throw new Error('no result');
  return result;
}

describe('Store.apply on any decoded command', () => {
  it('never throws, never fails inside a handler, and changes nothing when it refuses', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(poisoned, validShapedCommand), fc.boolean()), { minLength: 1, maxLength: 15 }), (steps) => {
        const store = storeWithState();
        for (const [tree, viaJson] of steps) {
          const before = store.snapshot();
          const revision = store.revision;
          const result = applyAnything(store, decoded(tree, viaJson));
          // INTERNAL would mean a handler threw on a command its schema let through.
          if (!result.ok) expect(result.error.code).not.toBe('INTERNAL');
          expect(store.revision).toBe(result.ok ? revision + 1 : revision);
          if (!result.ok) expect(store.snapshot()).toEqual(before);
        }
        // The state is still whole: it snapshots, restores, and takes ordinary writes.
        expect(Store.restore(store.snapshot()).snapshot()).toEqual(store.snapshot());
        expect(store.apply({ type: 'createNetwork', id: 'after-id', name: 'after-poison', driver: '', subnet: '10.77.0.0/24' }).ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('lets through every command shaped as the API and the CLI send it, before and after the JSON trip', () => {
    fc.assert(
      fc.property(validShapedCommand, (command) => {
        expect(checkCommand(command)).toEqual({ ok: true, value: command });
        expect(checkCommand(decoded(command, true)).ok).toBe(true);
        // The handlers may still refuse what the values mean, but never by throwing.
        const result = storeWithState().apply(command);
        if (!result.ok) expect(result.error.code).not.toBe('INTERNAL');
      }),
      { numRuns: 1000 },
    );
  });
});
