import type { EndpointView, MemberView, NetworkView, NodeView, SandboxView, ServiceView } from '../../proto/gen/trellis/v1/dispatcher';
import { compareText } from '../../proto/runtime/order';
import {
  NodeStatus,
  type Endpoint,
  type IpamConfig,
  type Network,
  type Node,
  type Sandbox,
  type Service,
} from '../../proto/gen/trellis/v1/types';
import {
  storedIpv4,
  type EndpointRecord,
  type IpamRecord,
  type NetworkRecord,
  type NodeRecord,
  type SandboxRecord,
  type ServiceRecord,
  type StoreState,
} from './state';

/*
 * Proto-shaped, freshly built copies of the records. Every list has an order
 * that depends only on the state, never on history, so equal states give
 * deep-equal answers.
 */

const NETNS_DIR = '/run/netns';


const byName = (a: { name: string }, b: { name: string }): number => compareText(a.name, b.name);
/** The order of a network's endpoints in views, and of a member's entries (member-digests.ts). */
export const byAddress = (a: EndpointRecord, b: EndpointRecord): number => storedIpv4(a.ip) - storedIpv4(b.ip);
const byInterface = (a: EndpointRecord, b: EndpointRecord): number => a.interfaceIndex - b.interfaceIndex;

function interfaceName(index: number): string {
  return `eth${index}`;
}

export function toEndpoint(state: StoreState, endpoint: EndpointRecord): Endpoint {
  const network = state.network(endpoint.networkId);
  const sandbox = state.sandbox(endpoint.sandboxId);
  const subnet = state.addressSpace(network.id).subnetOf(storedIpv4(endpoint.ip));
  if (!subnet) throw new Error(`store invariant broken: endpoint ${endpoint.id} is outside its network's subnets`);
  const service = endpoint.serviceId ? state.service(endpoint.serviceId) : undefined;
  return {
    id: endpoint.id,
    networkId: network.id,
    networkName: network.name,
    sandboxId: sandbox.id,
    sandboxName: sandbox.name,
    node: state.node(sandbox.nodeId).name,
    ip: endpoint.ip,
    prefixLength: subnet.prefixLength,
    mac: endpoint.mac,
    aliases: [...endpoint.aliases],
    interfaceName: interfaceName(endpoint.interfaceIndex),
    hostname: endpoint.hostname,
    extraHosts: [...endpoint.extraHosts],
    dns: [...endpoint.dns],
    serviceId: service?.id ?? '',
    serviceName: service?.name ?? '',
    ready: false,
    createdRevision: endpoint.createdRevision,
    publishedPorts: (endpoint.publishedPorts ?? []).map((port) => ({ ...port })),
    draining: endpoint.drainEndsAtMs !== undefined,
    drainEndsAt: endpoint.drainEndsAtMs === undefined ? '' : new Date(endpoint.drainEndsAtMs).toISOString(),
    publishAll: endpoint.publishAll === true,
    exposedPorts: (endpoint.exposedPorts ?? []).map((port) => ({ ...port })),
  };
}

function toIpamConfig(config: IpamRecord): IpamConfig {
  return { subnet: config.subnet, gateway: config.gateway, ipRange: config.ipRange, auxAddresses: { ...config.auxAddresses } };
}

/** A network's first subnet: what subnet/gateway/ip_range show, and what single-subnet consumers program. */
export function firstIpam(network: NetworkRecord): IpamRecord {
  const first = network.ipam[0];
  if (!first) throw new Error(`store invariant broken: network ${network.id} has no subnet`);
  return first;
}

export function toNetwork(state: StoreState, network: NetworkRecord): Network {
  const first = firstIpam(network);
  return {
    id: network.id,
    name: network.name,
    driver: network.driver,
    subnet: first.subnet,
    gateway: first.gateway,
    ipRange: first.ipRange,
    vni: network.vni,
    endpoints: state.endpointsOfNetwork(network.id).sort(byAddress).map((endpoint) => toEndpoint(state, endpoint)),
    createdRevision: network.createdRevision,
    ipam: network.ipam.map(toIpamConfig),
    internal: network.internal,
    attachable: network.attachable,
    mtu: network.mtu,
    labels: { ...network.labels },
    node: network.nodeId === undefined ? '' : state.node(network.nodeId).name,
    parent: network.parent ?? '',
    options: { ...network.options },
  };
}

export function toService(state: StoreState, service: ServiceRecord): Service {
  const networkOrder = (endpoint: EndpointRecord): number => service.networkIds.indexOf(endpoint.networkId);
  return {
    id: service.id,
    name: service.name,
    networks: service.networkIds.map((id) => state.network(id).name),
    endpointMode: service.endpointMode,
    ports: service.ports.map((port) => ({ ...port })),
    vips: service.vips.map((vip) => ({ networkId: vip.networkId, networkName: state.network(vip.networkId).name, ip: vip.ip })),
    backends: state
      .endpointsOfService(service.id)
      .sort((a, b) => networkOrder(a) - networkOrder(b) || byAddress(a, b))
      .map((endpoint) => toEndpoint(state, endpoint)),
    labels: { ...service.labels },
    createdRevision: service.createdRevision,
    drainTimeoutSeconds: service.drainTimeoutSeconds,
    tcpIdleTimeoutSeconds: service.tcpIdleTimeoutSeconds,
    udpIdleTimeoutSeconds: service.udpIdleTimeoutSeconds,
    // Both follow the agents' reports, which the leader holds: the API fills them in.
    programming: [],
    readyBackends: 0,
    updatedRevision: service.updatedRevision,
  };
}

export function toSandbox(state: StoreState, sandbox: SandboxRecord): Sandbox {
  return {
    id: sandbox.id,
    name: sandbox.name,
    node: state.node(sandbox.nodeId).name,
    netns: sandbox.adoptedNetns || `${NETNS_DIR}/${sandbox.netnsName}`,
    endpoints: state.endpointsOfSandbox(sandbox.id).sort(byInterface).map((endpoint) => toEndpoint(state, endpoint)),
    createdRevision: sandbox.createdRevision,
    adopted: Boolean(sandbox.adoptedNetns),
    removing: sandbox.removing === true,
    networkMode: sandbox.networkMode ?? '',
    netnsFrom: sandbox.netnsFrom ?? '',
  };
}

/** Liveness and applied revision are the dispatcher's to fill in. */
export function toNode(node: NodeRecord): Node {
  return {
    id: node.id,
    name: node.name,
    advertiseAddr: node.advertiseAddr,
    status: NodeStatus.NODE_STATUS_UNSPECIFIED,
    appliedRevision: 0,
    registeredRevision: node.registeredRevision,
    availability: node.availability,
    labels: { ...node.labels },
    programmedNetworks: {},
    unprogrammedEndpointIds: [],
    gossipPublicKey: node.gossipPublicKey ?? '',
    programmedServices: {},
    gatewaySubnet: node.gatewaySubnet ?? '',
    reservedPorts: (node.reservedPorts ?? []).map((reserved) => ({ ...reserved })),
    interfaces: (node.interfaces ?? []).map((link) => ({ ...link, addresses: [...link.addresses] })),
    linkKinds: [...(node.linkKinds ?? [])],
    ephemeralPortFirst: node.ephemeralPorts?.first ?? 0,
    ephemeralPortLast: node.ephemeralPorts?.last ?? 0,
    // Filled in by GetNode only, from the CA's record.
    certificateSerial: '',
    certificateNotAfter: '',
    certificateRequestedBy: '',
  };
}

export function sortedByName<R extends { name: string }>(records: Iterable<R>): R[] {
  return [...records].sort(byName);
}

/** The records named after `after` (in `sortedByName`'s order), built one at a time as they are read. */
export function* builtAfter<R extends { name: string }, T>(records: Iterable<R>, after: string, build: (record: R) => T): Generator<T> {
  for (const record of sortedByName(records)) if (compareText(record.name, after) > 0) yield build(record);
}

/**
 * Endpoint views of each network, built once and shared by every node view
 * computed at one revision: a network's list is the same in all of them.
 */
export type NetworkEndpointsCache = Map<string, EndpointView[]>;

/** Networks with an endpoint in one of the node's sandboxes. */
export function hostedNetworkIds(state: StoreState, nodeId: string): Set<string> {
  return new Set(
    state.sandboxesOfNode(nodeId).flatMap((sandbox) => state.endpointsOfSandbox(sandbox.id).map((endpoint) => endpoint.networkId)),
  );
}

/** Every endpoint of a network, built once per cache. */
export function networkEndpointViews(state: StoreState, networkId: string, cache: NetworkEndpointsCache): EndpointView[] {
  let views = cache.get(networkId);
  if (!views) {
    views = state.endpointsOfNetwork(networkId).sort(byAddress).map((endpoint) => toEndpointView(state, endpoint));
    cache.set(networkId, views);
  }
  return views;
}

export function toNetworkView(network: NetworkRecord): NetworkView {
  const first = firstIpam(network);
  return {
    id: network.id,
    name: network.name,
    vni: network.vni,
    subnet: first.subnet,
    gateway: first.gateway,
    mtu: network.mtu,
    internal: network.internal,
    driver: network.driver,
    subnets: network.ipam.map(({ subnet, gateway }) => ({ subnet, gateway })),
    parent: network.parent ?? '',
    mode: network.options?.[`${network.driver}_mode`] ?? '',
    isolateSandboxes: network.driver === 'bridge' && network.options?.icc === 'false',
  };
}

export function toSandboxView(sandbox: SandboxRecord): SandboxView {
  return {
    id: sandbox.id,
    name: sandbox.name,
    netnsName: sandbox.netnsName,
    netnsPath: sandbox.adoptedNetns ?? '',
    networkMode: sandbox.networkMode ?? '',
    // The store marks both the sandbox made with netns_from and the one it names.
    sharesNetns: sandbox.netnsFrom !== undefined || sandbox.netnsShared === true,
  };
}

/** An unknown node gets an empty view: there is nothing for it to program. */
export function nodeView(state: StoreState, nodeId: string, cache: NetworkEndpointsCache = new Map()): NodeView {
  const node = state.nodes.get(nodeId);
  const networks = [...hostedNetworkIds(state, nodeId)].map((id) => state.network(id)).sort((a, b) => a.vni - b.vni || compareText(a.name, b.name));
  const hosted = new Set(networks.map((network) => network.id));
  return {
    revision: state.revision,
    nodeId,
    nodeName: node?.name ?? '',
    advertiseAddr: node?.advertiseAddr ?? '',
    networks: networks.map(toNetworkView),
    sandboxes: sortedByName(state.sandboxesOfNode(nodeId)).map(toSandboxView),
    endpoints: [
      ...networks.flatMap((network) => hostedEndpointViews(state, nodeId, network.id, cache)),
      // An unknown node programs nothing, the routing mesh included.
      ...(node ? meshBackendViews(state, hosted, cache) : []),
    ],
    overlaySubnets: overlaySubnetsFor(state, node),
    services: node ? serviceViews(state, hosted) : [],
    members: [...hosted].sort(compareText).flatMap((networkId) => memberViews(state, nodeId, networkId, cache)),
  };
}

/** Whether the node gossips: its agent registered a key (NodeRecord.gossipPublicKey). */
export function gossips(state: StoreState, nodeId: string): boolean {
  return Boolean(state.nodes.get(nodeId)?.gossipPublicKey);
}

/**
 * Whether the view of `viewerId` leaves out the endpoints `ownerId` owns on a network the viewer
 * hosts: both gossip, so gossip brings them (NodeView.members). Backends of ingress services on
 * networks the viewer does not host stay in its view whoever owns them: it has no gossip there.
 */
export function leftToGossip(state: StoreState, viewerId: string, ownerId: string): boolean {
  return viewerId !== ownerId && gossips(state, viewerId) && gossips(state, ownerId);
}

/** The endpoints of a network the node hosts that its view holds: every one, but those gossip brings (see `leftToGossip`). */
export function hostedEndpointViews(state: StoreState, nodeId: string, networkId: string, cache: NetworkEndpointsCache): EndpointView[] {
  const views = networkEndpointViews(state, networkId, cache);
  return gossips(state, nodeId) ? views.filter((view) => !leftToGossip(state, nodeId, view.nodeId)) : views;
}

/**
 * The fellow members of a gossiping node on a network it hosts: every other gossiping node with
 * an endpoint there, by node id. None for a node that does not gossip.
 */
export function memberViews(state: StoreState, nodeId: string, networkId: string, cache: NetworkEndpointsCache): MemberView[] {
  if (!gossips(state, nodeId)) return [];
  const hosts = new Set(networkEndpointViews(state, networkId, cache).map((view) => view.nodeId));
  return [...hosts]
    .filter((hostId) => hostId !== nodeId && gossips(state, hostId))
    .sort(compareText)
    .map((hostId) => toMemberView(networkId, state.node(hostId)));
}

export function toMemberView(networkId: string, node: NodeRecord): MemberView {
  return { networkId, nodeId: node.id, publicKey: node.gossipPublicKey ?? '', vtep: node.advertiseAddr };
}

/**
 * The services a node hosting `hosted` sees (each once, by name): those on its networks, and
 * every service that publishes an ingress port, which the node answers whether it hosts its
 * networks or not. Each shows only the VIPs of hosted networks.
 */
function serviceViews(state: StoreState, hosted: ReadonlySet<string>): ServiceView[] {
  const services = new Map<string, ServiceRecord>();
  for (const networkId of hosted) for (const service of state.servicesOnNetwork(networkId)) services.set(service.id, service);
  for (const serviceId of state.ingressServiceIds) services.set(serviceId, state.service(serviceId));
  return sortedByName(services.values()).map((service) => toServiceView(state, service, hosted));
}

/** Whether a node hosting `hosted` sees the service: it is on one of those networks, or publishes an ingress port. */
export function isServiceVisible(state: StoreState, service: ServiceRecord, hosted: ReadonlySet<string>): boolean {
  return state.ingressServiceIds.has(service.id) || service.networkIds.some((networkId) => hosted.has(networkId));
}

/** Whether an endpoint is in the view of every node: it is a backend of a service that publishes an ingress port. */
export function isMeshBackend(state: StoreState, endpoint: Pick<EndpointRecord, 'serviceId'>): boolean {
  return endpoint.serviceId !== '' && state.ingressServiceIds.has(endpoint.serviceId);
}

/**
 * The backends of the services publishing ingress ports on networks outside `hosted` (those of
 * hosted networks are in the view with their network): by service name, then network, then address.
 * A node forwards its ingress ports to their nodes without programming their networks.
 */
export function meshBackendViews(state: StoreState, hosted: ReadonlySet<string>, cache: NetworkEndpointsCache): EndpointView[] {
  const services = sortedByName([...state.ingressServiceIds].map((id) => state.service(id)));
  return services.flatMap((service) =>
    service.networkIds.filter((networkId) => !hosted.has(networkId)).flatMap((networkId) => serviceBackendViews(state, service.id, networkId, cache)),
  );
}

/** A service's backends on one network, from the network's cached views. */
export function serviceBackendViews(state: StoreState, serviceId: string, networkId: string, cache: NetworkEndpointsCache): EndpointView[] {
  return networkEndpointViews(state, networkId, cache).filter((endpoint) => endpoint.serviceId === serviceId);
}

export function toServiceView(state: StoreState, service: ServiceRecord, hosted: ReadonlySet<string>): ServiceView {
  return {
    id: service.id,
    name: service.name,
    endpointMode: service.endpointMode,
    ports: service.ports.map((port) => ({ ...port })),
    vips: service.vips
      .filter((vip) => hosted.has(vip.networkId))
      .map(({ networkId, ip }) => ({ networkId, networkName: state.network(networkId).name, ip })),
    drainTimeoutSeconds: service.drainTimeoutSeconds,
    tcpIdleTimeoutSeconds: service.tcpIdleTimeoutSeconds,
    udpIdleTimeoutSeconds: service.udpIdleTimeoutSeconds,
    revision: service.updatedRevision,
  };
}

/** The cluster's overlay subnets, for a node's view or delta; none for an unknown node, which has nothing to program. */
export function overlaySubnetsFor(state: StoreState, node: NodeRecord | undefined): string[] {
  return node ? [...state.overlaySubnets()] : [];
}

export function toEndpointView(state: StoreState, record: EndpointRecord): EndpointView {
  const endpoint = toEndpoint(state, record);
  const { id, networkId, sandboxId, ip, prefixLength, mac, interfaceName, hostname, extraHosts, dns, publishedPorts } = endpoint;
  const { serviceId, draining, aliases, sandboxName } = endpoint;
  const node = state.node(state.sandbox(sandboxId).nodeId);
  return {
    ...{ id, networkId, sandboxId, nodeId: node.id, vtep: node.advertiseAddr, ip, prefixLength, mac, interfaceName, hostname, extraHosts, dns, publishedPorts },
    ...{ serviceId, draining, aliases, sandboxName },
  };
}
