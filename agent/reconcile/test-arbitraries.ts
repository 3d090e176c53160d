import fc from 'fast-check';
import type { EndpointView, NetworkView, NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';

/**
 * Node views for property tests, drawn over a small space of ids so that two views share
 * networks, sandboxes and endpoints, often with other attributes: a sequence of them adds,
 * removes and changes each. Node "A" (198.18.0.1) is the local one.
 */

export const LOCAL_NODE = { nodeId: 'A', advertiseAddr: '198.18.0.1' };
export const MAX_NETWORKS = 3;
export const MAX_SANDBOXES = 5;
const MAX_ENDPOINTS = 9;

/** Where sandbox i lives by each origin: the test's kernel must have made the foreign namespaces and started the processes. */
export interface SandboxPlaces {
  /** Its own name, with the sandbox prefix (created, or attached). */
  netnsName(index: number): string;
  /** The runtime's name it adopts. */
  foreignNetns(index: number): string;
  /** The process whose namespace it adopts. */
  pid(index: number): number;
}

/** The PIDs MemoryKernel.startProcess() hands out, from the first. */
export const FIRST_PID = 4001;

export function foreignNetns(index: number): string {
  return `ext-s${index}`;
}

export const MEMORY_PLACES: SandboxPlaces = { netnsName: (index) => `trsb-s${index}`, foreignNetns, pid: (index) => FIRST_PID + index };

/** Now and then a bridge network (local to the node, no VNI), with a second subnet or icc=false. */
const arbitraryNetwork = (index: number): fc.Arbitrary<NetworkView> =>
  fc.record({
    vni: fc.constantFrom(100, 101, 200, 300), internal: fc.boolean(), mtu: fc.constantFrom(0, 0, 1400),
    bridge: fc.constantFrom(false, false, true), secondSubnet: fc.boolean(), isolateSandboxes: fc.boolean(),
  }).map(({ vni, internal, mtu, bridge, secondSubnet, isolateSandboxes }) => {
    const subnet = `10.231.${index}.0/24`;
    const gateway = `10.231.${index}.1`;
    const extra = bridge && secondSubnet ? [{ subnet: `10.232.${index}.0/24`, gateway: `10.232.${index}.1` }] : [];
    return {
      id: `n${index}`, name: `net${index}`, driver: bridge ? 'bridge' : '', parent: '', mode: '',
      subnets: bridge ? [{ subnet, gateway }, ...extra] : [], isolateSandboxes: bridge && isolateSandboxes,
      vni: bridge ? 0 : vni, subnet, gateway, mtu, internal,
    };
  });

/** How a sandbox's namespace is made: adopted, a network mode, or shared with sandbox 0 (`sharer`). */
export type SandboxKind = 'created' | 'named' | 'attached' | 'none' | 'host' | 'sharer';

/** The kinds of the real-kernel samples; the memory properties add the network modes. */
const ADOPTION_KINDS: readonly SandboxKind[] = ['created', 'created', 'named', 'attached'];
export const EVERY_KIND: readonly SandboxKind[] = [...ADOPTION_KINDS, 'none', 'host', 'sharer'];

function sandboxView(index: number, kinds: readonly SandboxKind[], places: SandboxPlaces): SandboxView {
  const kind = kinds[index] ?? 'created';
  const netnsPath = kind === 'named' ? `/run/netns/${places.foreignNetns(index)}` : kind === 'attached' ? `/proc/${places.pid(index)}/ns/net` : '';
  const networkMode = kind === 'none' || kind === 'host' ? kind : '';
  // Sandbox 0 shares its namespace once any other sandbox of the sequence does.
  const sharesNetns = kind === 'sharer' || (index === 0 && kinds.includes('sharer'));
  const netnsName = places.netnsName(kind === 'sharer' ? 0 : index);
  return { id: `s${index}`, name: `s${index}`, netnsName, netnsPath, networkMode, sharesNetns };
}

const arbitraryPublished = fc.record({
  protocol: fc.constantFrom('tcp', 'udp'),
  // 4789/udp is the VXLAN port, never published.
  hostPort: fc.constantFrom(8080, 8081, 5353, 4789),
  port: fc.constantFrom(80, 53),
});

const arbitraryEndpoint = (index: number): fc.Arbitrary<EndpointView> =>
  fc.record({
    network: fc.nat(MAX_NETWORKS - 1),
    sandbox: fc.nat(MAX_SANDBOXES - 1),
    remoteNode: fc.option(fc.integer({ min: 2, max: 3 }), { nil: undefined, freq: 2 }),
    host: fc.integer({ min: 2, max: 6 }),
    macVariant: fc.nat(1),
    interfaceIndex: fc.nat(2),
    published: fc.array(arbitraryPublished, { maxLength: 2 }),
  }).map((e) => ({
    id: `ep${index}${'x'.repeat(12)}`,
    networkId: `n${e.network}`,
    sandboxId: `s${e.sandbox}`,
    nodeId: e.remoteNode === undefined ? LOCAL_NODE.nodeId : `node${e.remoteNode}`,
    vtep: e.remoteNode === undefined ? LOCAL_NODE.advertiseAddr : `198.18.0.${e.remoteNode}`,
    ip: `10.231.${e.network}.${e.host + 10 * index}`,
    prefixLength: 24,
    mac: `02:42:00:00:${index.toString(16).padStart(2, '0')}:0${e.macVariant}`,
    interfaceName: `eth${e.interfaceIndex}`,
    hostname: '', extraHosts: [], dns: [],
    publishedPorts: e.published,
    serviceId: '', draining: false, aliases: [], sandboxName: '',
  }));

/** Picks a subset of the indexes below `count` (each in it two times in three), each with its own arbitrary. */
function some<T>(count: number, of: (index: number) => fc.Arbitrary<T>): fc.Arbitrary<T[]> {
  return fc.tuple(...Array.from({ length: count }, (_, index) => fc.option(of(index), { nil: undefined, freq: 3 })))
    .map((items) => items.filter((item): item is T => item !== undefined));
}

/**
 * Sandbox i is of kinds[i] in every view drawn with the same kinds: the store never changes a
 * sandbox's namespace path (a name reused with another origin: see reconciler-memory.test.ts).
 */
function arbitraryNodeViewOf(kinds: readonly SandboxKind[], places: SandboxPlaces): fc.Arbitrary<NodeView> {
  return fc
    .record({
      networks: some(MAX_NETWORKS, arbitraryNetwork),
      sandboxes: some(MAX_SANDBOXES, (index) => fc.constant(sandboxView(index, kinds, places))),
      endpoints: some(MAX_ENDPOINTS, arbitraryEndpoint),
      extraOverlay: fc.boolean(),
    })
    .map(({ networks, sandboxes, endpoints, extraOverlay }) => ({
      revision: 1, nodeId: LOCAL_NODE.nodeId, nodeName: 'a', advertiseAddr: LOCAL_NODE.advertiseAddr,
      networks, sandboxes, endpoints,
      members: [], overlaySubnets: [...networks.filter((network) => network.driver === '').map((network) => network.subnet), ...(extraOverlay ? ['10.231.9.0/24'] : [])],
      services: [],
    }));
}

function arbitraryKinds(kinds: readonly SandboxKind[]): fc.Arbitrary<SandboxKind[]> {
  return fc.array(fc.constantFrom<SandboxKind>(...kinds), { minLength: MAX_SANDBOXES, maxLength: MAX_SANDBOXES });
}

export function arbitraryNodeView(places: SandboxPlaces = MEMORY_PLACES, kinds = ADOPTION_KINDS): fc.Arbitrary<NodeView> {
  return arbitraryKinds(kinds).chain((drawn) => arbitraryNodeViewOf(drawn, places));
}

/** 2 to 4 views in a row, each a fresh draw over the same ids: everything may be added, removed or changed. */
export function arbitraryViewSequence(places: SandboxPlaces = MEMORY_PLACES, maxLength = 4, kinds = ADOPTION_KINDS): fc.Arbitrary<NodeView[]> {
  return arbitraryKinds(kinds).chain((drawn) => fc.array(arbitraryNodeViewOf(drawn, places), { minLength: 2, maxLength }));
}
