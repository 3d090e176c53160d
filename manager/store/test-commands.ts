import fc from 'fast-check';
import type { Command } from './commands';

const networkName = fc.constantFrom('a', 'b', 'c');
const sandboxName = fc.constantFrom('s1', 's2', 's3', 's4', 's5');
const nodeName = fc.constantFrom('n1', 'n2', 'n3', 'n4');

/** Gossip keys as agents send them (see setNodeGossipKey). */
export const GOSSIP_KEYS = ['a'.repeat(64), '0123456789abcdef'.repeat(4)] as const;

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
  // A bridge network local to one node (#17): in that node's view only, never in overlay_subnets.
  fc.record({
    type: fc.constant('createNetwork' as const),
    id: fc.constant(''),
    name: networkName,
    driver: fc.constant('bridge'),
    node: nodeName,
    subnet: fc.constantFrom('10.0.20.0/24', '10.0.3.0/24'),
    options: fc.constantFrom<Record<string, string>>({}, { icc: 'false' }),
  }),
  fc.record({ type: fc.constant('removeNetwork' as const), network: networkName }),
  fc.record({ type: fc.constant('registerNode' as const), id: fc.constant(''), name: nodeName, advertiseAddr: fc.constantFrom('192.168.0.1', '192.168.0.2') }),
  fc.record({ type: fc.constant('updateNode' as const), node: nodeName, availability: fc.constantFrom('active', 'drain') }),
  fc.record({ type: fc.constant('removeNode' as const), node: nodeName }),
  // Nodes start and stop gossiping (a refused key among them); registerNode's ids follow the name (see withDistinctIds).
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('setNodeGossipKey' as const),
      nodeId: nodeName.map((name) => `node-${name}`),
      publicKey: fc.constantFrom('', ...GOSSIP_KEYS, 'A'.repeat(64)),
    }),
  },
  fc.record({
    type: fc.constant('createSandbox' as const),
    id: fc.constant(''),
    name: sandboxName,
    node: nodeName,
    netns: fc.constantFrom('', '/run/netns/ext-1', '/proc/42/ns/net'),
  }),
  // Network modes and shared namespaces (#17).
  fc.record({ type: fc.constant('createSandbox' as const), id: fc.constant(''), name: sandboxName, node: nodeName, networkMode: fc.constantFrom('none', 'host') }),
  fc.record({ type: fc.constant('createSandbox' as const), id: fc.constant(''), name: sandboxName, node: nodeName, netnsFrom: sandboxName }),
  fc.record({ type: fc.constant('removeSandbox' as const), sandbox: sandboxName }),
  fc.record({
    type: fc.constant('connect' as const),
    endpointId: fc.constant(''),
    network: networkName,
    sandbox: sandboxName,
    aliases: fc.constant([]),
    // Few host ports, so that some clash on a node and are refused.
    publishedPorts: fc.constantFrom([], [{ hostPort: 8080, port: 80 }], [{ protocol: 'udp', hostPort: 8080, port: 53 }, { hostPort: 9090, port: 90 }]),
    service: fc.constantFrom('', 'v1', 'v2', 'v3'),
    // Publish-all takes ports of the node's range in apply (#17).
    publishAll: fc.boolean(),
    exposedPorts: fc.constantFrom([], [{ port: 80 }], [{ protocol: 'udp', port: 53 }, { port: 80 }]),
  }),
  fc.record({ type: fc.constant('disconnect' as const), network: networkName, sandbox: sandboxName }),
  fc.record({
    type: fc.constant('createService' as const),
    id: fc.constant(''),
    name: fc.constantFrom('v1', 'v2', 'v3'),
    networks: fc.constantFrom(['a'], ['a', 'b'], ['b', 'c'], ['c']),
    endpointMode: fc.constantFrom('vip', 'dnsrr'),
    ports: fc.constantFrom([], [{ protocol: 'tcp', targetPort: 80, publishedPort: 0, publishMode: '' }], [{ targetPort: 80, publishedPort: 8081, publishMode: 'host' }]),
  }),
  // Ports come and go (an ingress port brings a service into every node's view), and timeouts change.
  fc.record({
    type: fc.constant('updateService' as const),
    service: fc.constantFrom('v1', 'v2', 'v3'),
    publishAdd: fc.constantFrom([], [{ targetPort: 80, publishedPort: 8480 }], [{ targetPort: 80, publishedPort: 8481, publishMode: 'host' }]),
    publishRm: fc.constantFrom([], [{ targetPort: 8480 }], [{ targetPort: 80 }]),
    drainTimeoutSeconds: fc.constantFrom(undefined, 0, 5),
  }),
  fc.record({ type: fc.constant('removeService' as const), service: fc.constantFrom('v1', 'v2', 'v3') }),
);

/** Every network, node and sandbox name the generated commands use exists, with services on every network. */
export const servicesCluster: readonly Command[] = [
  ...['a', 'b', 'c'].map((name, index): Command => ({ type: 'createNetwork', id: `net-${name}`, name, driver: '', subnet: `10.1.${index}.0/24` })),
  ...['n1', 'n2', 'n3'].map((name, index): Command => ({ type: 'registerNode', id: `node-${name}`, name, advertiseAddr: `192.168.0.${index + 1}` })),
  ...['s1', 's2', 's3', 's4', 's5'].map((name, index): Command => ({ type: 'createSandbox', id: `box-${name}-0123`, name, node: `n${(index % 3) + 1}` })),
  { type: 'createService', id: 'svc-v1', name: 'v1', networks: ['a', 'b'] },
  { type: 'createService', id: 'svc-v2', name: 'v2', networks: ['c'], endpointMode: 'dnsrr' },
  { type: 'connect', endpointId: 'ep-s1-a', network: 'a', sandbox: 's1', aliases: [], service: 'v1' },
  { type: 'connect', endpointId: 'ep-s2-c', network: 'c', sandbox: 's2', aliases: [], service: 'v2' },
];

/**
 * `servicesCluster` where n1 and n2 gossip: network a has endpoints of both (s1, s5) and of n3 (s3),
 * which does not; n1 has a backend on b of v3, which publishes an ingress port (so every view holds it).
 */
export const gossipCluster: readonly Command[] = [
  ...servicesCluster,
  { type: 'setNodeGossipKey', nodeId: 'node-n1', publicKey: GOSSIP_KEYS[0] },
  { type: 'setNodeGossipKey', nodeId: 'node-n2', publicKey: GOSSIP_KEYS[1] },
  { type: 'connect', endpointId: 'ep-s5-a', network: 'a', sandbox: 's5', aliases: [] },
  { type: 'connect', endpointId: 'ep-s3-a', network: 'a', sandbox: 's3', aliases: [] },
  { type: 'createService', id: 'svc-v3', name: 'v3', networks: ['b'], ports: [{ targetPort: 80, publishedPort: 8480 }] },
  { type: 'connect', endpointId: 'ep-s1-b', network: 'b', sandbox: 's1', aliases: [], service: 'v3' },
];

/**
 * Gives generated commands distinct ids (sandbox namespaces take the first 10 characters of theirs);
 * a node's id is `node-NAME`, so that setNodeGossipKey can name it.
 */
export function withDistinctIds(generated: Command, index: number): Command {
  const id = `${index}`.padStart(12, '0');
  if (generated.type === 'connect') return { ...generated, endpointId: id };
  if (generated.type === 'registerNode') return { ...generated, id: `node-${generated.name}` };
  if (generated.type === 'createSandbox') return { ...generated, id: `${index}`.padStart(10, '0') + '-box' };
  if ('id' in generated) return { ...generated, id };
  return generated;
}


/*
 * Commands of every type with every field, shaped as the API and the CLI send them
 * (strings, uint32s, lists, maps; an optional field absent, undefined, or a default like ''
 * or 0 as a proto message gives it), with values the handlers may still refuse.
 */
const text = fc.constantFrom('', 'a', 'web', 'node-a', 'front', 's1', '10.0.1.0/24', '10.0.1.5', 'toString', 'constructor');
const uint32 = fc.oneof(fc.constantFrom(0, 1, 80, 1400, 4096, 65535, 2 ** 24), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
const names = fc.array(text, { maxLength: 4 });
/** Label keys, aux names: anything but `__proto__`, which the schema refuses. */
const labels = fc.dictionary(fc.string({ maxLength: 12 }).filter((key) => key !== '__proto__'), fc.string({ maxLength: 20 }), { maxKeys: 4 });
const absentOrDefault = <T>(value: fc.Arbitrary<T>, empty: T): fc.Arbitrary<T | undefined> => fc.oneof(fc.constant(undefined), fc.constant(empty), value);

/** Every field key present, some undefined: fc.record's optional keys give the absent ones. */
function command<T extends Record<string, unknown>>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }, required: (keyof T)[]): fc.Arbitrary<T> {
  return fc.record(fields, { requiredKeys: required });
}

/** Has the shape of a sealed value (the store checks no more than that). */
const SEALED_EXAMPLE = `sealed:v1:${'A'.repeat(48)}`;

export const validShapedCommand: fc.Arbitrary<Command> = fc.oneof(
  viewCommand,
  command(
    {
      type: fc.constant('createNetwork' as const),
      id: text,
      name: text,
      driver: fc.constantFrom('', 'overlay', 'bridge'),
      subnet: absentOrDefault(text, ''),
      gateway: absentOrDefault(text, ''),
      ipRange: absentOrDefault(text, ''),
      ipam: absentOrDefault(
        fc.array(fc.record({ subnet: text, gateway: absentOrDefault(text, ''), ipRange: absentOrDefault(text, ''), auxAddresses: absentOrDefault(labels, {}) }), { maxLength: 3 }),
        [],
      ),
      internal: fc.boolean(),
      attachable: fc.boolean(),
      mtu: absentOrDefault(uint32, 0),
      labels: absentOrDefault(labels, {}),
      vni: absentOrDefault(uint32, 0),
    },
    ['type', 'id', 'name', 'driver'],
  ),
  command(
    {
      type: fc.constant('connect' as const),
      endpointId: text,
      network: text,
      sandbox: text,
      ip: absentOrDefault(text, ''),
      aliases: names,
      mac: absentOrDefault(fc.constantFrom('02:00:00:00:00:0a', 'zz'), ''),
      hostname: absentOrDefault(text, ''),
      extraHosts: absentOrDefault(fc.array(fc.constantFrom('db:10.0.0.5', 'x'), { maxLength: 3 }), []),
      dns: absentOrDefault(names, []),
      service: absentOrDefault(text, ''),
      publishedPorts: absentOrDefault(fc.array(fc.record({ protocol: absentOrDefault(fc.constantFrom('tcp', 'udp', 'sctp'), ''), hostPort: uint32, port: uint32 }), { maxLength: 3 }), []),
    },
    ['type', 'endpointId', 'network', 'sandbox', 'aliases'],
  ),
  command(
    { type: fc.constant('updateNode' as const), node: text, availability: absentOrDefault(fc.constantFrom('active', 'drain', 'pause'), ''), labelAdd: absentOrDefault(labels, {}), labelRm: absentOrDefault(names, []) },
    ['type', 'node'],
  ),
  command(
    {
      type: fc.constant('createService' as const),
      id: text,
      name: text,
      networks: names,
      endpointMode: absentOrDefault(fc.constantFrom('vip', 'dnsrr', 'x'), ''),
      ports: absentOrDefault(
        fc.array(
          fc.record({ protocol: absentOrDefault(fc.constantFrom('tcp', 'udp'), ''), targetPort: uint32, publishedPort: absentOrDefault(uint32, 0), publishMode: absentOrDefault(fc.constantFrom('ingress', 'host'), '') }),
          { maxLength: 3 },
        ),
        [],
      ),
      labels: absentOrDefault(labels, {}),
    },
    ['type', 'id', 'name', 'networks'],
  ),
  command(
    {
      type: fc.constant('updateService' as const),
      service: text,
      publishAdd: absentOrDefault(fc.array(fc.record({ protocol: absentOrDefault(fc.constantFrom('tcp', 'udp'), ''), targetPort: uint32, publishedPort: absentOrDefault(uint32, 0) }), { maxLength: 2 }), []),
      publishRm: absentOrDefault(fc.array(fc.record({ protocol: absentOrDefault(fc.constantFrom('tcp', 'udp'), ''), targetPort: uint32 }), { maxLength: 2 }), []),
      drainTimeoutSeconds: absentOrDefault(uint32, 0),
      tcpIdleTimeoutSeconds: absentOrDefault(uint32, 0),
      udpIdleTimeoutSeconds: absentOrDefault(uint32, 0),
    },
    ['type', 'service'],
  ),
  command({ type: fc.constant('disconnect' as const), network: text, sandbox: text, force: fc.boolean(), at: fc.nat() }, ['type', 'network', 'sandbox']),
  fc.record({ type: fc.constant('finishDrain' as const), endpointIds: names, at: fc.nat() }),
  fc.record({ type: fc.constant('rotateJoinSecret' as const), role: fc.constantFrom('worker' as const, 'manager' as const), sealedSecret: fc.constantFrom('', SEALED_EXAMPLE) }),
  fc.record({ type: fc.constant('setAutolock' as const), unlockKeySealed: fc.constantFrom(undefined, '', SEALED_EXAMPLE) }),
  fc.record({ type: fc.constant('setDefaultAddressPools' as const), pools: fc.array(fc.record({ base: text, size: uint32 }), { maxLength: 3 }) }),
  fc.record({
    type: fc.constant('initSecurity' as const),
    security: fc.record({
      clusterId: text,
      caCertPem: fc.constant('-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n'),
      caKeySealed: fc.constantFrom('-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n', SEALED_EXAMPLE),
      joinSecretsSealed: fc.record({ worker: text, manager: fc.constantFrom('', SEALED_EXAMPLE) }),
      certValiditySeconds: fc.nat(),
    }),
  }),
);
