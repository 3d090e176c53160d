import { LowestFreeAllocator } from './allocator';
import { lastAddress, parseCidr, parseIpv4, type Cidr } from './ipv4';

/*
 * The records are the store's whole truth; everything else (allocators,
 * proto-shaped views) is derived from them. A snapshot is these records.
 */

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  /** '' means the whole subnet. */
  ipRange: string;
  vni: number;
  createdRevision: number;
}

export interface NodeRecord {
  id: string;
  name: string;
  advertiseAddr: string;
  registeredRevision: number;
}

export interface SandboxRecord {
  id: string;
  name: string;
  nodeId: string;
  /** Name under /run/netns. */
  netnsName: string;
  createdRevision: number;
}

export interface EndpointRecord {
  id: string;
  networkId: string;
  sandboxId: string;
  ip: string;
  aliases: string[];
  /** N of the interface ethN inside the sandbox. */
  interfaceIndex: number;
}

export interface StoreSnapshot {
  revision: number;
  nodes: NodeRecord[];
  networks: NetworkRecord[];
  sandboxes: SandboxRecord[];
  endpoints: EndpointRecord[];
}

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

function byId<R extends { id: string }>(records: R[]): Map<string, R> {
  return new Map(records.map((record) => [record.id, structuredClone(record)]));
}

/** The records plus the allocators derived from them. Maps keep insertion order, so snapshots are stable. */
export class StoreState {
  readonly vnis = new LowestFreeAllocator(FIRST_VNI, LAST_VNI);
  readonly addressPools = new Map<string, LowestFreeAllocator>();

  private constructor(
    public revision: number,
    readonly nodes: Map<string, NodeRecord>,
    readonly networks: Map<string, NetworkRecord>,
    readonly sandboxes: Map<string, SandboxRecord>,
    readonly endpoints: Map<string, EndpointRecord>,
  ) {
    for (const network of networks.values()) {
      this.vnis.reserve(network.vni);
      this.addressPools.set(network.id, this.newAddressPool(network));
    }
    for (const endpoint of endpoints.values()) this.addressPool(endpoint.networkId).reserve(storedIpv4(endpoint.ip));
  }

  static empty(): StoreState {
    return StoreState.restore({ revision: 0, nodes: [], networks: [], sandboxes: [], endpoints: [] });
  }

  static restore(snapshot: StoreSnapshot): StoreState {
    return new StoreState(snapshot.revision, byId(snapshot.nodes), byId(snapshot.networks), byId(snapshot.sandboxes), byId(snapshot.endpoints));
  }

  snapshot(): StoreSnapshot {
    return structuredClone({
      revision: this.revision,
      nodes: [...this.nodes.values()],
      networks: [...this.networks.values()],
      sandboxes: [...this.sandboxes.values()],
      endpoints: [...this.endpoints.values()],
    });
  }

  /**
   * A new network's pool, its gateway already taken. Dynamic addresses come from
   * ip_range (or the subnet), never the subnet's network or broadcast address.
   */
  newAddressPool(network: NetworkRecord): LowestFreeAllocator {
    const subnet = storedCidr(network.subnet);
    const range = network.ipRange ? storedCidr(network.ipRange) : subnet;
    const pool = new LowestFreeAllocator(
      Math.max(range.network, subnet.network + 1),
      Math.min(lastAddress(range), lastAddress(subnet) - 1),
    );
    pool.reserve(storedIpv4(network.gateway));
    return pool;
  }

  addressPool(networkId: string): LowestFreeAllocator {
    const pool = this.addressPools.get(networkId);
    if (!pool) throw new Error(`store invariant broken: network ${networkId} has no address pool`);
    return pool;
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

  node(id: string): NodeRecord {
    return required(this.nodes, id, 'node');
  }

  network(id: string): NetworkRecord {
    return required(this.networks, id, 'network');
  }

  sandbox(id: string): SandboxRecord {
    return required(this.sandboxes, id, 'sandbox');
  }

  endpointsOfNetwork(networkId: string): EndpointRecord[] {
    return [...this.endpoints.values()].filter((endpoint) => endpoint.networkId === networkId);
  }

  endpointsOfSandbox(sandboxId: string): EndpointRecord[] {
    return [...this.endpoints.values()].filter((endpoint) => endpoint.sandboxId === sandboxId);
  }
}

export function findByName<R extends { name: string }>(records: Map<string, R>, name: string): R | undefined {
  for (const record of records.values()) if (record.name === name) return record;
  return undefined;
}

function findByReference<R extends { id: string; name: string }>(records: Map<string, R>, reference: string): R | undefined {
  return records.get(reference) ?? findByName(records, reference);
}

function required<R>(records: Map<string, R>, id: string, kind: string): R {
  const record = records.get(id);
  if (!record) throw new Error(`store invariant broken: no ${kind} with id ${id}`);
  return record;
}
