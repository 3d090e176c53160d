/**
 * The kernel objects the data plane is made of, in the shape both the desired state and the
 * observed state are expressed in, so that plan() can compare them field by field.
 * Addresses are "a.b.c.d/len"; MACs are lower-case "aa:bb:cc:dd:ee:ff".
 */

export interface VxlanAttributes {
  vni: number;
  local: string;
  port: number;
  underlayDevice: string;
  learning: boolean;
  proxy: boolean;
}

/** A link as read back from `ip -j -d link/addr show`. */
export interface ObservedLink {
  name: string;
  /** `linkinfo.info_kind`, '' for links without one (lo). */
  kind: string;
  ifindex: number;
  /** For a veth whose peer lives in another namespace: the peer's ifindex there. */
  peerIfindex: number | undefined;
  mtu: number;
  up: boolean;
  mac: string;
  master: string | undefined;
  alias: string | undefined;
  vxlan: VxlanAttributes | undefined;
  /** IPv4 addresses only; link-local IPv6 comes and goes by itself and is not ours to manage. */
  addresses: string[];
  /**
   * ARP retransmit interval in ms (`ip -4 -j ntable show`, the link's arp_cache `retrans`). Read
   * for sandbox links only; undefined for host links and when the kernel reported none.
   */
  arpRetransMs: number | undefined;
}

export interface DefaultRoute {
  gateway: string;
  device: string;
}

export interface ObservedSandbox {
  netns: string;
  links: ObservedLink[];
  defaultRoute: DefaultRoute | undefined;
}

export interface FdbEntry {
  device: string;
  mac: string;
  /** '' when the entry has no remote (only possible for entries someone else made). */
  dst: string;
  permanent: boolean;
}

export interface NeighbourEntry {
  device: string;
  ip: string;
  /** undefined for entries that have not resolved (INCOMPLETE, FAILED). */
  mac: string | undefined;
  permanent: boolean;
}

/** What observe() reads beyond the agent's own objects: the namespaces adopted sandboxes live in. */
export interface AdoptedNetnsQuery {
  /** Names under /run/netns that someone else made: read like sandboxes (when present) and identified. */
  foreign: readonly string[];
  /** The agent's own names (with the sandbox prefix) that adopted processes' namespaces are attached as: identified. */
  attached: readonly string[];
  /** Processes whose namespace is adopted: identified through /proc/PID/ns/net. */
  pids: readonly number[];
}

export const NO_ADOPTED_NETNS: AdoptedNetnsQuery = { foreign: [], attached: [], pids: [] };

export interface ObservedKernel {
  /** Every link of the host namespace, ours or not (the underlay device is read from here). */
  hostLinks: ObservedLink[];
  /** Namespaces named with the sandbox prefix, and the foreign ones asked for, that could be entered and read. */
  sandboxes: ObservedSandbox[];
  /** Namespaces named with the sandbox prefix, or foreign ones asked for, that exist as a name but cannot be entered. */
  brokenSandboxes: string[];
  /**
   * Identity ("device:inode" of the nsfs file) of each asked-for namespace path that exists, by path
   * (see netnsRunPath and processNetnsPath): tells whether two paths are one namespace.
   */
  netnsIds: Record<string, string>;
  /**
   * Identities of the namespaces the agent itself uses, where it runs and where the host links live
   * (one namespace, except in tests and the lab): never adopted. Empty when no adopted namespace was asked for.
   */
  agentNetnsIds: string[];
  /** Self (not bridge master) FDB entries on VXLAN devices with our prefix. */
  fdb: FdbEntry[];
  /** Neighbour entries on VXLAN devices with our prefix. */
  neighbours: NeighbourEntry[];
}

export interface DesiredBridge {
  name: string;
  mtu: number;
}

export interface DesiredVxlan extends VxlanAttributes {
  name: string;
  mtu: number;
  bridge: string;
}

/** A local endpoint: a veth pair from the network's bridge into a sandbox. */
export interface DesiredEndpoint {
  hostName: string;
  bridge: string;
  mtu: number;
  netns: string;
  interfaceName: string;
  mac: string;
  address: string;
  /** ARP retransmit interval of the sandbox-side interface, in ms. */
  arpRetransMs: number;
}

/** Who made a sandbox's namespace, which says what the agent may do to it. */
export type NetnsOrigin =
  /** `ip netns add` by the agent, which deletes it when no longer wanted. */
  | { kind: 'created' }
  /** Named under /run/netns by someone else: used as it is, never created, deleted, tagged or emptied. */
  | { kind: 'named' }
  /**
   * A process's namespace, bind-mounted by the agent as `netns` (`ip netns attach`). Deleting that
   * name only unmounts it: the namespace lives on for as long as the process does.
   */
  | { kind: 'attached'; pid: number };

export interface DesiredSandbox {
  /** The name under /run/netns that `ip -n` enters. */
  netns: string;
  origin: NetnsOrigin;
  defaultRoute: DefaultRoute | undefined;
}

/** Desired FDB and neighbour entries are always permanent. */
export type DesiredFdbEntry = Omit<FdbEntry, 'permanent'>;

export interface DesiredNeighbour {
  device: string;
  ip: string;
  mac: string;
}

export interface DesiredKernel {
  /** Written as the alias of each sandbox's lo: sandboxes tagged by another owner are never removed. */
  ownerTag: string;
  bridges: DesiredBridge[];
  vxlans: DesiredVxlan[];
  sandboxes: DesiredSandbox[];
  endpoints: DesiredEndpoint[];
  fdb: DesiredFdbEntry[];
  neighbours: DesiredNeighbour[];
}
