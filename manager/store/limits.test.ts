import { EndpointView } from '../../proto/gen/trellis/v1/dispatcher';
import { Endpoint, Network, Node, Service } from '../../proto/gen/trellis/v1/types';
import type { Connect, CreateNetwork } from './commands';
import { LIMITS } from './limits';
import { must, twoNodeStore } from './test-fixtures';

/*
 * The limits are far above real use and keep every object small: everything at its limit is
 * accepted, and still serializes well under 64 KB (a gRPC message holds 4 MB).
 */

const KB = 1024;
const many = <T>(count: number, make: (index: number) => T): T[] => Array.from({ length: count }, (_, index) => make(index));
/** A valid DNS name of exactly `length` characters, distinct per `index`. */
const dnsName = (index: number, length: number): string => {
  const head = `n${index}.`;
  const rest = length - head.length;
  return head + many(Math.ceil(rest / 64), () => `${'a'.repeat(62)}.`).join('').slice(0, rest - 1) + 'b';
};
/** Labels at the byte limit (64 entries, keys and values together 8192 bytes, in UTF-8). */
const fullLabels = (): Record<string, string> => Object.fromEntries(many(LIMITS.labels, (i) => [`key-${`${i}`.padStart(2, '0')}`, 'é'.repeat(60)]));

describe('limits', () => {
  it('accepts an endpoint with every list at its limit, which serializes (proto, and as a view entry) under 64 KB', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'full-id-0123456789', name: 'full', node: 'node-a' });
    const command: Connect = {
      type: 'connect',
      endpointId: 'ep-full',
      network: 'front',
      sandbox: 'full',
      aliases: many(LIMITS.aliases, (i) => dnsName(i, LIMITS.aliasLength)),
      extraHosts: many(LIMITS.extraHosts, (i) => `${dnsName(i, LIMITS.aliasLength)}:10.9.0.${i + 1}`),
      dns: many(LIMITS.dns, (i) => `10.9.1.${i + 1}`),
      publishedPorts: many(LIMITS.publishedPorts, (i) => ({ protocol: 'udp', hostPort: 20_000 + i, port: 80 })),
    };
    const endpoint = must(store, command);

    expect(endpoint.aliases).toHaveLength(LIMITS.aliases);
    expect(endpoint.aliases.every((alias) => alias.length === LIMITS.aliasLength)).toBe(true);
    expect(Endpoint.encode(endpoint).finish().length).toBeLessThan(64 * KB);
    const view = store.nodeView('node-a-id').endpoints.find((entry) => entry.id === 'ep-full');
    expect(view && EndpointView.encode(view).finish().length).toBeLessThan(64 * KB);
  });

  it('accepts a network with every list at its limit, which serializes under 64 KB', () => {
    const store = twoNodeStore();
    const auxPerSubnet = LIMITS.auxAddressesPerNetwork / LIMITS.subnetsPerNetwork;
    const command: CreateNetwork = {
      type: 'createNetwork',
      id: 'full-net-id',
      name: 'full',
      driver: '',
      ipam: many(LIMITS.subnetsPerNetwork, (s) => ({
        subnet: `10.50.${s}.0/24`,
        auxAddresses: Object.fromEntries(many(auxPerSubnet, (a) => [`${'r'.repeat(LIMITS.auxNameLength - 4)}${`${s * 10 + a}`.padStart(4, '0')}`, `10.50.${s}.${a + 2}`])),
      })),
      labels: fullLabels(),
    };
    const network = must(store, command);

    expect(network.ipam).toHaveLength(LIMITS.subnetsPerNetwork);
    expect(Network.encode(network).finish().length).toBeLessThan(64 * KB);
  });

  it('accepts a service with every list at its limit, which serializes under 64 KB', () => {
    const store = twoNodeStore();
    for (let i = 0; i < LIMITS.networksPerService; i++) {
      must(store, { type: 'createNetwork', id: `n-${i}`, name: `n-${i}`, driver: '', subnet: `10.60.${i}.0/24` });
    }
    const service = must(store, {
      type: 'createService',
      id: 'full-svc-id',
      name: 'full',
      networks: many(LIMITS.networksPerService, (i) => `n-${i}`),
      ports: many(LIMITS.portsPerService, (i) => ({ targetPort: 30_000 + i })),
      labels: fullLabels(),
    });

    expect(service.vips).toHaveLength(LIMITS.networksPerService);
    expect(Service.encode(service).finish().length).toBeLessThan(64 * KB);
  });

  it('accepts a node reserving its limit of ports, reporting its limit of interfaces and link kinds, with labels at their limit, which serializes under 64 KB', () => {
    const store = twoNodeStore();
    must(store, {
      type: 'registerNode',
      id: 'node-c-id',
      name: 'node-c',
      advertiseAddr: '192.168.0.3',
      gatewaySubnet: '172.29.0.0/16',
      reservedPorts: many(LIMITS.reservedPortsPerNode, (i) => ({ port: 9000 + i, reason: 'r'.repeat(LIMITS.reservedPortReasonLength) })),
      interfaces: many(LIMITS.interfacesPerNode, (i) => ({
        name: `eth${i}`.padEnd(15, 'x'),
        kind: 'k'.repeat(LIMITS.linkKindLength),
        addresses: many(LIMITS.addressesPerInterface, (a) => `192.168.${i % 256}.${a + 100}/24`),
      })),
      linkKinds: many(LIMITS.linkKindsPerNode, (i) => `${i}`.padEnd(LIMITS.linkKindLength, 'k')),
      ephemeralPortFirst: 32768,
      ephemeralPortLast: 60999,
    });
    const node = must(store, { type: 'updateNode', node: 'node-c', labelAdd: fullLabels() });

    expect(node.interfaces).toHaveLength(LIMITS.interfacesPerNode);
    expect(Node.encode(node).finish().length).toBeLessThan(64 * KB);
  });
});
