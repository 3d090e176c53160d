import fc from 'fast-check';
import type { Command } from './commands';

const networkName = fc.constantFrom('a', 'b', 'c');
const sandboxName = fc.constantFrom('s1', 's2', 's3', 's4', 's5');
const nodeName = fc.constantFrom('n1', 'n2', 'n3', 'n4');

/** Every command that can reach a node view, over few names so objects collide, move and vanish often. */
export const viewCommand: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('createNetwork' as const),
    id: fc.constant(''),
    name: networkName,
    driver: fc.constant(''),
    subnet: fc.constantFrom('10.0.1.0/29', '10.0.3.0/24', '10.0.12.0/24'),
    internal: fc.boolean(),
  }),
  fc.record({ type: fc.constant('removeNetwork' as const), network: networkName }),
  fc.record({ type: fc.constant('registerNode' as const), id: fc.constant(''), name: nodeName, advertiseAddr: fc.constantFrom('192.168.0.1', '192.168.0.2') }),
  fc.record({ type: fc.constant('updateNode' as const), node: nodeName, availability: fc.constantFrom('active', 'drain') }),
  fc.record({ type: fc.constant('removeNode' as const), node: nodeName }),
  fc.record({
    type: fc.constant('createSandbox' as const),
    id: fc.constant(''),
    name: sandboxName,
    node: nodeName,
    netns: fc.constantFrom('', '/run/netns/ext-1', '/proc/42/ns/net'),
  }),
  fc.record({ type: fc.constant('removeSandbox' as const), sandbox: sandboxName }),
  fc.record({
    type: fc.constant('connect' as const),
    endpointId: fc.constant(''),
    network: networkName,
    sandbox: sandboxName,
    aliases: fc.constant([]),
    // Few host ports, so that some clash on a node and are refused.
    publishedPorts: fc.constantFrom([], [{ hostPort: 8080, port: 80 }], [{ protocol: 'udp', hostPort: 8080, port: 53 }, { hostPort: 9090, port: 90 }]),
  }),
  fc.record({ type: fc.constant('disconnect' as const), network: networkName, sandbox: sandboxName }),
  fc.record({ type: fc.constant('createService' as const), id: fc.constant(''), name: fc.constantFrom('v1', 'v2'), networks: fc.constantFrom(['a'], ['a', 'b']) }),
  fc.record({ type: fc.constant('removeService' as const), service: fc.constantFrom('v1', 'v2') }),
);

/** Gives generated commands distinct ids (sandbox namespaces take the first 10 characters of theirs). */
export function withDistinctIds(generated: Command, index: number): Command {
  const id = `${index}`.padStart(12, '0');
  if (generated.type === 'connect') return { ...generated, endpointId: id };
  if (generated.type === 'createSandbox') return { ...generated, id: `${index}`.padStart(10, '0') + '-box' };
  if ('id' in generated) return { ...generated, id };
  return generated;
}

