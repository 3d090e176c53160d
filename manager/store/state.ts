import { AddressSpace } from './address-space';
import { LowestFreeAllocator } from './allocator';
import { formatCidr, parseCidr, parseIpv4, type Cidr } from '../../proto/runtime/ipv4';
import { ManyIndex, NamedMap, WatchedMap } from './watched-map';

/*
 * The records are the store's whole truth; everything else (allocators,
 * proto-shaped views) is derived from them. A snapshot is these records.
 */

/** One subnet of a network: every field normalised (CIDRs and addresses in canonical form). */
export interface IpamRecord {
  subnet: string;
  gateway: string;
  /** '' means the whole subnet. */
  ipRange: string;
  /** name → address; reserved, never handed out. */
  auxAddresses: Record<string, string>;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  /** At least one subnet; the first is the one shown as the network's subnet/gateway/ip_range. */
  ipam: IpamRecord[];
  internal: boolean;
  attachable: boolean;
  /** 0 means the agent's default. */
  mtu: number;
  labels: Record<string, string>;
  /** 0 for the drivers local to one node (bridge, macvlan, ipvlan): they carry no VXLAN. */
  vni: number;
  createdRevision: number;
  /** The node a bridge, macvlan or ipvlan network lives on. Absent for overlay networks (and in older records). */
  nodeId?: string;
  /** macvlan / ipvlan: the node's interface the sandboxes' interfaces hang off. */
  parent?: string;
  /** Driver options with their defaults filled in (Network.options). Absent means none. */
  options?: Record<string, string>;
}

export type NodeAvailability = 'active' | 'drain';

export interface NodeRecord {
  id: string;
  name: string;
  advertiseAddr: string;
  registeredRevision: number;
  availability: NodeAvailability;
  labels: Record<string, string>;
  /** The agent's gateway bridge subnet, canonical. Absent (older agents, older snapshots) means not reported. */
  gatewaySubnet?: string;
  /** Ports of the node no sandbox may publish, as its agent reported them. Absent means none. */
  reservedPorts?: ReservedPortRecord[];
  /** The key its agent gossips with (hex), from its session's hello. Absent means it does not gossip. */
  gossipPublicKey?: string;
  /** What the agent reported at registration (RegisterRequest); absent from older agents. */
  interfaces?: HostInterfaceRecord[];
  linkKinds?: string[];
  ephemeralPorts?: { first: number; last: number };
}

/** One interface of a node's host namespace (Node.interfaces). */
export interface HostInterfaceRecord {
  name: string;
  kind: string;
  addresses: string[];
}

/** A port of one node that no published port may take, and what uses it. */
export interface ReservedPortRecord {
  protocol: PortProtocol;
  port: number;
  reason: string;
}

export interface SandboxRecord {
  id: string;
  name: string;
  nodeId: string;
  /**
   * Name under /run/netns: the agent's own namespace, or the name it attaches an adopted
   * /proc/PID/ns/net under. Unused when a /run/netns/NAME path is adopted.
   */
  netnsName: string;
  /**
   * The namespace path adopted from a container runtime ("/run/netns/NAME" or "/proc/PID/ns/net").
   * Absent (so in every snapshot from before adoption) means the agent creates netnsName itself.
   */
  adoptedNetns?: string;
  createdRevision: number;
  /**
   * True once removeSandbox was applied while some of its endpoints drain: it goes with the last
   * of them (see drains.ts). Absent (so in every record from before drain) means not being removed.
   */
  removing?: boolean;
  /** Docker's --network none | host (Sandbox.network_mode). Absent: a namespace of its own. */
  networkMode?: 'none' | 'host';
  /** The sandbox whose namespace it was created in (Sandbox.netns_from); netnsName is that one's. */
  netnsFrom?: string;
  /** Another sandbox was created with netns_from naming this one: the namespace is shared. */
  netnsShared?: boolean;
}

export interface EndpointRecord {
  id: string;
  networkId: string;
  sandboxId: string;
  ip: string;
  /** Lower case; static, or derived from the address. */
  mac: string;
  aliases: string[];
  /** N of the interface ethN inside the sandbox. */
  interfaceIndex: number;
  hostname: string;
  extraHosts: string[];
  dns: string[];
  /** '' when the endpoint is no service's backend. */
  serviceId: string;
  createdRevision: number;
  /**
   * Ports of the sandbox's node forwarded to the endpoint. Absent (so in every record from
   * before publishing, and in records that publish nothing) means none.
   */
  publishedPorts?: PublishedPortRecord[];
  /**
   * Present while the endpoint drains: a service backend being disconnected (or its sandbox removed)
   * that takes no new flows through the VIPs and keeps everything else (address, interface) until this
   * time, in ms since the epoch, when the leader removes it (finishDrain). Computed in apply from the
   * proposer's `at`, so every replica stamps the same.
   */
  drainEndsAtMs?: number;
  /** `-P`: each exposed port also has a publishedPorts entry whose host port the store chose. */
  publishAll?: boolean;
  exposedPorts?: ExposedPortRecord[];
}

/** `--expose PORT/PROTOCOL` (Docker's EXPOSE). */
export interface ExposedPortRecord {
  protocol: PortProtocol;
  port: number;
}

/** Like `docker run -p HOST:CONTAINER/PROTOCOL`: the node's hostPort is DNATed to the endpoint's port. */
export interface PublishedPortRecord {
  protocol: PortProtocol;
  hostPort: number;
  port: number;
}

export type PortProtocol = 'tcp' | 'udp';

export type EndpointMode = 'vip' | 'dnsrr';

export interface PortRecord {
  protocol: PortProtocol;
  targetPort: number;
  /** Never 0: the target port when none was asked for. */
  publishedPort: number;
  publishMode: 'ingress' | 'host';
}

export interface ServiceRecord {
  id: string;
  name: string;
  networkIds: string[];
  endpointMode: EndpointMode;
  ports: PortRecord[];
  /** One per network in vip mode, in the order of networkIds; none in dnsrr mode. */
  vips: { networkId: string; ip: string }[];
  labels: Record<string, string>;
  createdRevision: number;
  /** How long a leaving backend keeps its established flows; 0 = cut at once. */
  drainTimeoutSeconds: number;
  tcpIdleTimeoutSeconds: number;
  udpIdleTimeoutSeconds: number;
  /** The revision of the last change to the service's own fields (create, update): what agents report programming. */
  updatedRevision: number;
}

/** Whether the service publishes a port in ingress mode: then every node answers it (the routing mesh), so every node's view holds it. */
export function publishesIngress(service: Pick<ServiceRecord, 'ports'>): boolean {
  return service.ports.some((port) => port.publishMode === 'ingress');
}

/** A service record as older versions wrote it, before drain and idle timeouts. */
type StoredServiceRecord = Omit<ServiceRecord, keyof typeof SERVICE_DEFAULTS | 'updatedRevision'> & Partial<ServiceRecord>;

/**
 * The timeouts a service gets when its creator gives none. Idle flows last longer than under IPVS
 * (900 s TCP, 300 s UDP), whose defaults are Swarm's and cut idle database connections and long
 * polls that the applications on both ends still consider open: a day for TCP, 15 minutes for UDP.
 */
export const SERVICE_DEFAULTS = { drainTimeoutSeconds: 30, tcpIdleTimeoutSeconds: 86_400, udpIdleTimeoutSeconds: 900 } as const;

/** Records and snapshots from before drain and idle timeouts read as if created with the defaults. */
function withServiceDefaults(record: StoredServiceRecord): ServiceRecord {
  return { ...SERVICE_DEFAULTS, updatedRevision: record.createdRevision, ...record };
}

/** Where subnets for networks created without one come from: consecutive /size blocks of base. */
export interface AddressPoolRecord {
  base: string;
  size: number;
}

export type JoinRole = 'worker' | 'manager';

/**
 * The cluster's root of trust, replicated so that any manager can sign the
 * certificates of joining nodes. Like Swarm's, the CA key sits in the managers'
 * Raft state, but only sealed (AES-256-GCM) under the cluster's data key, which
 * the log never holds: see manager/secrets/key-file.ts.
 */
export interface ClusterSecurityRecord {
  clusterId: string;
  caCertPem: string;
  /** The CA's private key (PEM), sealed under the data key. */
  caKeySealed: string;
  /** Each role's join secret, sealed under the data key. */
  joinSecretsSealed: Record<JoinRole, string>;
  /** Lifetime of the node certificates the cluster issues. */
  certValiditySeconds: number;
  /**
   * During a root rotation (caCertPem/caKeySealed already the new root's): the old root, still
   * trusted, and the new root cross-signed by the old key, presented after every certificate
   * the new root signs. Absent when no rotation is under way.
   */
  rotation?: RootRotationRecord;
  /** Present while autolock is on: the unlock key, sealed under the data key, so every manager can rewrap its own key file. */
  unlockKeySealed?: string;
}

export interface RootRotationRecord {
  previousCaCertPem: string;
  crossSignedCaPem: string;
}

/**
 * A node whose certificates must no longer be accepted: removed (`trellis node rm`,
 * `trellis manager leave`). Node ids are never reused, so the id is the whole key.
 * Times are milliseconds since the epoch, chosen by the proposer.
 */
export interface RevokedNodeRecord {
  nodeId: string;
  /** Why, as refused callers are told (e.g. "removed by trellis node rm"). */
  reason: string;
  revokedAt: number;
  /** The latest expiry of any certificate issued to the node: after it, the entry may go. */
  until: number;
}

/** A certificate the cluster CA issued: the latest per node is kept (see certificates.ts). Times in ms since the epoch. */
export interface IssuedCertificateRecord {
  nodeId: string;
  role: string;
  /** Hex, as `openssl x509 -serial` prints it. */
  serial: string;
  issuedAt: number;
  notAfter: number;
  /** Who asked: "worker join token", "manager join token", "renewal by its own certificate", "cluster init", … */
  requestedBy: string;
  /** SHA-256 of the signing root's DER (as in join tokens); absent in records from before root rotation. */
  caDigest?: string;
  /**
   * The Raft member id of the manager that holds the certificate, when it differs from the
   * certificate's node id (managers that joined before member ids were their certificates').
   */
  memberId?: string;
}

export interface StoreSnapshot {
  revision: number;
  /** Absent in a cluster created without security (only the store's own tests do that). */
  security?: ClusterSecurityRecord;
  nodes: NodeRecord[];
  networks: NetworkRecord[];
  sandboxes: SandboxRecord[];
  endpoints: EndpointRecord[];
  /** Those written before drain and idle timeouts lack them (see withServiceDefaults). */
  services: StoredServiceRecord[];
  defaultAddressPools: AddressPoolRecord[];
  /** Absent in snapshots from before revocation: none revoked. */
  revokedNodes?: RevokedNodeRecord[];
  /** Absent in snapshots from before issuing was recorded: none recorded. */
  issuedCertificates?: IssuedCertificateRecord[];
}

/** Like Swarm's: 10.0.0.0/8 cut into /24s. */
export const BUILT_IN_ADDRESS_POOLS: readonly AddressPoolRecord[] = [{ base: '10.0.0.0/8', size: 24 }];

export const FIRST_VNI = 4096;
export const LAST_VNI = 2 ** 24 - 1;

/** Parses a CIDR the store itself validated when it was written. */
export function storedCidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`store invariant broken: "${text}" is not a CIDR`);
  return parsed.cidr;
}

export function storedIpv4(text: string): number {
  const address = parseIpv4(text);
  if (address === undefined) throw new Error(`store invariant broken: "${text}" is not an IPv4 address`);
  return address;
}

function byId<R extends { id: string }, M extends WatchedMap<R>>(records: R[], map: M): M {
  for (const record of records) map.set(record.id, structuredClone(record));
  return map;
}

/**
 * What the commands applied since the last `takeTouched()` wrote: enough to tell
 * which nodes' views may have changed (see affected-nodes.ts).
 */
export interface Touched {
  /** Nodes whose record, or set of sandboxes, changed. */
  nodes: Set<string>;
  /** Nodes whose record changed: every view holding their endpoints shows their address. */
  nodeRecords: Set<string>;
  /** Sandboxes that gained or lost an endpoint. */
  sandboxes: Set<string>;
  /** Endpoints added, replaced or removed, each with its network id. */
  endpointChanges: Map<string, string>;
  /** Sandbox records added, replaced or removed, each with its node id. */
  sandboxChanges: Map<string, string>;
  /** Network records added, replaced or removed. */
  networkRecords: Set<string>;
  /** Service records added, replaced or removed, each with the networks it is (or was) on. */
  serviceChanges: Map<string, Set<string>>;
  /** Of those, the services that published an ingress port before the write or after it: every node sees them. */
  ingressServices: Set<string>;
  /** Endpoints added, replaced or removed, each with its sandbox's node. */
  endpointNodes: Map<string, string>;
  /** Of those, the services' backends, each with its service id. */
  backendChanges: Map<string, string>;
  /**
   * Nodes that started or stopped gossiping (their key set, or cleared, or a gossiping node removed):
   * which endpoints views leave out follows. A key replaced by another is a record change only.
   */
  gossipSwitched: Set<string>;
}

function noneTouched(): Touched {
  return {
    nodes: new Set(),
    nodeRecords: new Set(),
    sandboxes: new Set(),
    endpointChanges: new Map(),
    sandboxChanges: new Map(),
    networkRecords: new Set(),
    serviceChanges: new Map(),
    ingressServices: new Set(),
    endpointNodes: new Map(),
    backendChanges: new Map(),
    gossipSwitched: new Set(),
  };
}

/**
 * The records plus the allocators derived from them. Maps keep insertion order, so snapshots are stable.
 * Handlers replace records (and `defaultAddressPools`, `security`), never change them in place: that is
 * what lets `rolledBack` put back the records a command wrote before it threw.
 */
export class StoreState {
  readonly vnis = new LowestFreeAllocator(FIRST_VNI, LAST_VNI);
  /** Per network: gateways, auxiliary addresses, endpoint addresses and service VIPs. */
  readonly addressSpaces = new Map<string, AddressSpace>();
  // Indexes, so a lookup costs what it returns rather than a scan of every record.
  private readonly endpointsByNetwork = new ManyIndex();
  private readonly endpointsBySandbox = new ManyIndex();
  private readonly sandboxesByNode = new ManyIndex();
  private readonly servicesByNetwork = new ManyIndex();
  /** Ids of the services that publish an ingress port (see `publishesIngress`). */
  readonly ingressServiceIds = new Set<string>();
  /** Ids of the endpoints that drain (have drainEndsAtMs), for the leader's drain loop. */
  readonly drainingEndpointIds = new Set<string>();
  /** See `overlaySubnets`; undefined until asked for after a network write. */
  private overlaySubnetList: readonly string[] | undefined;
  private touched = noneTouched();
  /** Per node written since the last `takeTouched()`, whether it gossiped (had a key) before the first of those writes. */
  private gossipingBefore = new Map<string, boolean>();
  /** How to undo each record write since the last `takeTouched()`, in order. */
  private undo: (() => void)[] = [];
  private checkpoint: Pick<StoreState, 'defaultAddressPools' | 'security'>;

  private constructor(
    public revision: number,
    readonly nodes: NamedMap<NodeRecord>,
    readonly networks: NamedMap<NetworkRecord>,
    readonly sandboxes: NamedMap<SandboxRecord>,
    readonly endpoints: WatchedMap<EndpointRecord>,
    readonly services: NamedMap<ServiceRecord>,
    public defaultAddressPools: AddressPoolRecord[],
    public security: ClusterSecurityRecord | undefined,
    readonly revokedNodes: Map<string, RevokedNodeRecord>,
    /** By node id, in the order issued (oldest first). */
    readonly issuedCertificates: Map<string, IssuedCertificateRecord>,
  ) {
    endpoints.watch((endpoint, present) => {
      const index = present ? 'add' : 'remove';
      this.endpointsByNetwork[index](endpoint.networkId, endpoint.id);
      this.endpointsBySandbox[index](endpoint.sandboxId, endpoint.id);
      this.touched.sandboxes.add(endpoint.sandboxId);
      this.touched.endpointChanges.set(endpoint.id, endpoint.networkId);
      // A sandbox goes only once its last endpoint has: an endpoint's sandbox is always there.
      const nodeId = this.sandboxes.get(endpoint.sandboxId)?.nodeId;
      if (nodeId !== undefined) this.touched.endpointNodes.set(endpoint.id, nodeId);
      if (endpoint.serviceId) this.touched.backendChanges.set(endpoint.id, endpoint.serviceId);
      if (present && endpoint.drainEndsAtMs !== undefined) this.drainingEndpointIds.add(endpoint.id);
      else this.drainingEndpointIds.delete(endpoint.id);
    });
    sandboxes.watch((sandbox, present) => {
      this.sandboxesByNode[present ? 'add' : 'remove'](sandbox.nodeId, sandbox.id);
      this.touched.nodes.add(sandbox.nodeId);
      this.touched.sandboxChanges.set(sandbox.id, sandbox.nodeId);
    });
    networks.watch((network) => {
      this.touched.networkRecords.add(network.id);
      this.overlaySubnetList = undefined;
    });
    nodes.watch((node, present) => {
      this.touchNode(node.id);
      this.touchGossiping(node, present);
    });
    services.watch((service, present) => {
      for (const networkId of service.networkIds) this.servicesByNetwork[present ? 'add' : 'remove'](networkId, service.id);
      const networks = this.touched.serviceChanges.get(service.id) ?? new Set<string>();
      for (const networkId of service.networkIds) networks.add(networkId);
      this.touched.serviceChanges.set(service.id, networks);
      const ingress = publishesIngress(service);
      if (ingress) this.touched.ingressServices.add(service.id);
      if (present && ingress) this.ingressServiceIds.add(service.id);
      else this.ingressServiceIds.delete(service.id);
    });
    // Every record write, with the write that reverses it.
    const undoable = <R extends { id: string }>(map: WatchedMap<R>): void =>
      map.watch((record, present) => this.undo.push(present ? () => map.delete(record.id) : () => map.set(record.id, record)));
    undoable(nodes);
    undoable(networks);
    undoable(sandboxes);
    undoable(endpoints);
    undoable(services);
    this.touched = noneTouched();
    this.gossipingBefore = new Map();
    this.undo = [];
    this.checkpoint = { defaultAddressPools, security };
    for (const network of networks.values()) {
      this.vnis.reserve(network.vni);
      this.addressSpaces.set(network.id, newAddressSpace(network));
    }
    for (const endpoint of endpoints.values()) this.addressSpace(endpoint.networkId).reserve(storedIpv4(endpoint.ip));
    for (const service of services.values()) {
      for (const vip of service.vips) this.addressSpace(vip.networkId).reserve(storedIpv4(vip.ip));
    }
  }

  static empty(): StoreState {
    return StoreState.restore({
      revision: 0,
      nodes: [],
      networks: [],
      sandboxes: [],
      endpoints: [],
      services: [],
      defaultAddressPools: [...BUILT_IN_ADDRESS_POOLS],
    });
  }

  static restore(snapshot: StoreSnapshot): StoreState {
    return new StoreState(
      snapshot.revision,
      byId(snapshot.nodes, new NamedMap<NodeRecord>()),
      byId(snapshot.networks, new NamedMap<NetworkRecord>()),
      byId(snapshot.sandboxes, new NamedMap<SandboxRecord>()),
      byId(snapshot.endpoints, new WatchedMap<EndpointRecord>()),
      byId(snapshot.services.map(withServiceDefaults), new NamedMap<ServiceRecord>()),
      structuredClone(snapshot.defaultAddressPools),
      structuredClone(snapshot.security),
      new Map((snapshot.revokedNodes ?? []).map((revoked) => [revoked.nodeId, structuredClone(revoked)])),
      new Map((snapshot.issuedCertificates ?? []).map((issued) => [issued.nodeId, structuredClone(issued)])),
    );
  }

  snapshot(): StoreSnapshot {
    return structuredClone(this.liveSnapshot());
  }

  /** The records themselves, not copies: to be serialized at once, before anything is applied. */
  liveSnapshot(): StoreSnapshot {
    return {
      revision: this.revision,
      nodes: [...this.nodes.values()],
      networks: [...this.networks.values()],
      sandboxes: [...this.sandboxes.values()],
      endpoints: [...this.endpoints.values()],
      services: [...this.services.values()],
      defaultAddressPools: this.defaultAddressPools,
      ...(this.security ? { security: this.security } : {}),
      ...(this.revokedNodes.size > 0 ? { revokedNodes: [...this.revokedNodes.values()] } : {}),
      ...(this.issuedCertificates.size > 0 ? { issuedCertificates: [...this.issuedCertificates.values()] } : {}),
    };
  }

  addressSpace(networkId: string): AddressSpace {
    const space = this.addressSpaces.get(networkId);
    if (!space) throw new Error(`store invariant broken: network ${networkId} has no address space`);
    return space;
  }

  /** Exact id first, then name: an id can never be shadowed by a name. */
  findNetwork(reference: string): NetworkRecord | undefined {
    return findByReference(this.networks, reference);
  }

  findSandbox(reference: string): SandboxRecord | undefined {
    return findByReference(this.sandboxes, reference);
  }

  findNode(reference: string): NodeRecord | undefined {
    return findByReference(this.nodes, reference);
  }

  findService(reference: string): ServiceRecord | undefined {
    return findByReference(this.services, reference);
  }

  node(id: string): NodeRecord {
    return required(this.nodes, id, 'node');
  }

  network(id: string): NetworkRecord {
    return required(this.networks, id, 'network');
  }

  sandbox(id: string): SandboxRecord {
    return required(this.sandboxes, id, 'sandbox');
  }

  service(id: string): ServiceRecord {
    return required(this.services, id, 'service');
  }

  /** A node record was written: views showing it must be recomputed. */
  private touchNode(nodeId: string): void {
    this.touched.nodes.add(nodeId);
    this.touched.nodeRecords.add(nodeId);
  }

  /** Keeps `touched.gossipSwitched` to the nodes that gossip now (after this report) and did not before the command's first write, or the other way round. */
  private touchGossiping(node: NodeRecord, present: boolean): void {
    const gossiping = Boolean(node.gossipPublicKey);
    // A record reported gone first existed as it is; one reported present first did not exist.
    if (!this.gossipingBefore.has(node.id)) this.gossipingBefore.set(node.id, !present && gossiping);
    if (this.gossipingBefore.get(node.id) !== (present && gossiping)) this.touched.gossipSwitched.add(node.id);
    else this.touched.gossipSwitched.delete(node.id);
  }

  /**
   * What was written since the last call; a refused command's writes (there should be none) are dropped the same way.
   * Also the point `rolledBack` goes back to: call it after every command.
   */
  takeTouched(): Touched {
    const touched = this.touched;
    this.touched = noneTouched();
    this.gossipingBefore = new Map();
    this.undo = [];
    this.checkpoint = { defaultAddressPools: this.defaultAddressPools, security: this.security };
    return touched;
  }

  /**
   * The state as it was at the last `takeTouched()`, for a command that threw halfway: its record
   * writes undone, and everything derived (allocators, indexes) rebuilt from the records, since a
   * handler takes addresses and VNIs directly. Costs a copy of the store, paid only on that rare path.
   * This state is not to be used afterwards.
   */
  rolledBack(): StoreState {
    for (const step of this.undo.splice(0).reverse()) step();
    this.defaultAddressPools = this.checkpoint.defaultAddressPools;
    this.security = this.checkpoint.security;
    return StoreState.restore(this.liveSnapshot());
  }

  /**
   * Every subnet of every overlay network, by address (then prefix length), each once. Every node
   * view and delta carries it, so it is built once per network write, not once per node. Local
   * networks' subnets are left out: a macvlan subnet is the physical LAN, and isolating the gateway
   * bridge from it would cut the node's sandboxes' egress.
   */
  overlaySubnets(): readonly string[] {
    if (!this.overlaySubnetList) {
      const overlays = [...this.networks.values()].filter((network) => network.nodeId === undefined);
      const subnets = new Set(overlays.flatMap((network) => network.ipam.map((config) => config.subnet)));
      this.overlaySubnetList = [...subnets]
        .map(storedCidr)
        .sort((a, b) => a.network - b.network || a.prefixLength - b.prefixLength)
        .map(formatCidr);
    }
    return this.overlaySubnetList;
  }

  endpointsOfNetwork(networkId: string): EndpointRecord[] {
    return [...this.endpointsByNetwork.get(networkId)].map((id) => required(this.endpoints, id, 'endpoint'));
  }

  endpointsOfSandbox(sandboxId: string): EndpointRecord[] {
    return [...this.endpointsBySandbox.get(sandboxId)].map((id) => required(this.endpoints, id, 'endpoint'));
  }

  sandboxesOfNode(nodeId: string): SandboxRecord[] {
    return [...this.sandboxesByNode.get(nodeId)].map((id) => required(this.sandboxes, id, 'sandbox'));
  }

  endpointsOfService(serviceId: string): EndpointRecord[] {
    return [...this.endpoints.values()].filter((endpoint) => endpoint.serviceId === serviceId);
  }

  servicesOnNetwork(networkId: string): ServiceRecord[] {
    return [...this.servicesByNetwork.get(networkId)].map((id) => required(this.services, id, 'service'));
  }
}

/** A network's address space with its gateways and auxiliary addresses already taken. */
export function newAddressSpace(network: NetworkRecord): AddressSpace {
  return new AddressSpace(
    network.ipam.map((config) => ({
      subnet: storedCidr(config.subnet),
      ipRange: config.ipRange ? storedCidr(config.ipRange) : undefined,
      reserved: [config.gateway, ...Object.values(config.auxAddresses)].map(storedIpv4),
    })),
  );
}

function findByReference<R extends { id: string; name: string }>(records: NamedMap<R>, reference: string): R | undefined {
  return records.get(reference) ?? records.byName(reference);
}

function required<R>(records: Map<string, R>, id: string, kind: string): R {
  const record = records.get(id);
  if (!record) throw new Error(`store invariant broken: no ${kind} with id ${id}`);
  return record;
}
