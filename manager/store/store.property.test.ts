import fc from 'fast-check';
import type { Command } from './commands';
import { Store } from './store';

const networkName = fc.constantFrom('a', 'b', 'c');
const sandboxName = fc.constantFrom('s1', 's2', 's3', 's4');
const nodeName = fc.constantFrom('n1', 'n2', 'n3');

/** Commands over a few names and small subnets, so collisions and exhaustion happen often. Ids are filled in later. */
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('createNetwork' as const),
    id: fc.constant(''),
    name: networkName,
    driver: fc.constant(''),
    subnet: fc.constantFrom('10.0.1.0/29', '10.0.2.0/30', '10.0.3.0/24', '10.0.4.5/24'),
    ipRange: fc.constantFrom(undefined, '10.0.3.8/30'),
  }),
  fc.record({ type: fc.constant('removeNetwork' as const), network: networkName }),
  fc.record({ type: fc.constant('registerNode' as const), id: fc.constant(''), name: nodeName, advertiseAddr: fc.constantFrom('192.168.0.1', '192.168.0.2') }),
  fc.record({ type: fc.constant('createSandbox' as const), id: fc.constant(''), name: sandboxName, node: nodeName }),
  fc.record({ type: fc.constant('removeSandbox' as const), sandbox: sandboxName }),
  fc.record({
    type: fc.constant('connect' as const),
    endpointId: fc.constant(''),
    network: networkName,
    sandbox: sandboxName,
    ip: fc.constantFrom(undefined, '10.0.1.2', '10.0.3.9', '10.0.3.10'),
    aliases: fc.constantFrom([], ['x'], ['bad_alias']),
  }),
  fc.record({ type: fc.constant('disconnect' as const), network: networkName, sandbox: sandboxName }),
);

function withId(generated: Command, index: number): Command {
  const id = `${index}`.padStart(12, '0');
  if (generated.type === 'connect') return { ...generated, endpointId: id };
  if ('id' in generated) return { ...generated, id };
  return generated;
}

describe('Store under random command sequences', () => {
  it('refused commands change nothing, addresses stay unique, and a restored copy decides alike', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), fc.nat(60), (generated, restoreAt) => {
        const store = new Store();
        let copy: Store | undefined;
        generated.map(withId).forEach((next, index) => {
          if (index === restoreAt) copy = Store.restore(store.snapshot());
          const before = store.snapshot();
          const result = store.apply(next);
          if (!result.ok) expect(store.snapshot()).toEqual(before);
          if (copy) expect(copy.apply(next)).toEqual(result);
        });
        if (copy) expect(copy.snapshot()).toEqual(store.snapshot());
        for (const network of store.networks()) {
          const addresses = [network.gateway, ...network.endpoints.map((endpoint) => endpoint.ip)];
          expect(new Set(addresses).size).toBe(addresses.length);
        }
        const vnis = store.networks().map((network) => network.vni);
        expect(new Set(vnis).size).toBe(vnis.length);
      }),
    );
  });
});
