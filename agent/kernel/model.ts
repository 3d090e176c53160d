import type { DesiredFirewall } from '../firewall/model';

/**
 * The kernel objects the data plane is made of, in the shape both the desired state and the
 * observed state are expressed in, so that plan() can compare them field by field.
 * Addresses are "a.b.c.d/len"; MACs are lower-case "aa:bb:cc:dd:ee:ff".
 */

export interface VxlanAttributes {
  vni: number;
  local: string;
  port: number;
  /**
   * The underlay's name as `ip link add ... dev` takes it. Read back from a network namespace it
   * is `if<N>`, the underlay's ifindex in the namespace the device was created in (see plan).
   */
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
  /** Bridge port isolation (`bridge_slave isolated`): isolated ports reach only non-isolated ones. */
  isolated: boolean | undefined;
  alias: string | undefined;
  vxlan: VxlanAttributes | undefined;
  /** macvlan ("bridge", "private", ...) and ipvlan ("l2", "l3", ...) devices: `info_data.mode`. */
  mode: string | undefined;
  /** IPv4 addresses only; link-local IPv6 comes and goes by itself and is not ours to manage. */
  addresses: string[];
  /**
   * ARP retransmit interval in ms (`ip -4 -j ntable show`, the link's arp_cache `retrans`). Read
   * for sandbox links only; undefined for host links and when the kernel reported none.
   */
  arpRetransMs: number | undefined;
}

export interface DefaultRoute {
  /** '' for an on-link route (`default dev DEVICE`: an ipvlan l3 sandbox's). */
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

/** One network's namespace: its bridge, VXLAN device and the host ends of its sandboxes' veths. */
export interface ObservedNetwork {
  netns: string;
  links: ObservedLink[];
  /** Self (not bridge master) FDB entries of the VXLAN devices. */
  fdb: FdbEntry[];
  /** IPv4 neighbour entries of the VXLAN devices. */
  neighbours: NeighbourEntry[];
  /**
   * Whether the bridge hands bridged packets to netfilter (any bridge-nf-call-* switch on);
   * undefined when br_netfilter is not loaded.
   */
  bridgeNetfilter: boolean | undefined;
}

/** What observe() reads besides the agent's own sandboxes and host links. */
export interface ObserveQuery {
  /** Network namespaces are read only under this prefix: agents sharing /run/netns each have their own. */
  networkNetnsPrefix: string;
  /** The host firewall table the agent owns. */
  firewallTable: string;
  adopted: AdoptedNetnsQuery;
  /**
   * Read only these sandbox and network namespaces and host links (those that exist), not every
   * one of ours: a scoped pass. ip_forward and the firewall are always read.
   */
  only?: ScopedRead;
}

/** Namespaces by name under /run/netns. */
export interface NamespaceSelection {
  sandboxes: ReadonlySet<string>;
  networks: ReadonlySet<string>;
}

export interface ScopedRead extends NamespaceSelection {
  /** Links of the host namespace, by name. */
  hostLinks: ReadonlySet<string>;
}

export interface ObservedKernel {
  /** Every link of the host namespace, ours or not (the underlay device is read from here). */
  hostLinks: ObservedLink[];
  /** The namespaces under the asked-for prefix that could be entered and read. */
  networks: ObservedNetwork[];
  /** Namespaces under the asked-for prefix that exist as a name but cannot be entered. */
  brokenNetworks: string[];
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
  /** net.ipv4.ip_forward of the host namespace. */
  ipForwarding: boolean;
  /** The host firewall table as `nft list table` prints it (normalized); undefined when there is none. */
  firewall: string | undefined;
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

/**
 * A network's own namespace, as Swarm's overlay has: its bridge and VXLAN device live there, so
 * networks with the same subnet never meet. The VXLAN device is created from the host namespace
 * straight into it, so its UDP socket stays on the underlay.
 */
export interface DesiredNetwork {
  netns: string;
  bridge: DesiredBridge;
  vxlan: DesiredVxlan;
  fdb: DesiredFdbEntry[];
  neighbours: DesiredNeighbour[];
}

/**
 * A local endpoint: a veth pair from the network's bridge into a sandbox. The bridge is in the
 * network's namespace for an overlay network, in the host namespace for a bridge network.
 */
export interface DesiredEndpoint {
  /** Also written as the alias of the sandbox end: ifindexes alone do not pair veths across many namespaces. */
  hostName: string;
  /** undefined: a bridge network's endpoint, whose host end stays in the host namespace. */
  networkNetns: string | undefined;
  bridge: string;
  /** Bridge port isolation of the host end (a bridge network's icc=false); undefined: left as the kernel has it. */
  isolated?: boolean;
  /** A bridge network's published ports, DNAT to this endpoint's own address. */
  published?: PublishedPortRule[];
  mtu: number;
  netns: string;
  interfaceName: string;
  mac: string;
  address: string;
  /** ARP retransmit interval of the sandbox-side interface, in ms. */
  arpRetransMs: number;
}

/**
 * A local endpoint of a macvlan or ipvlan network: a device on a host interface (the parent),
 * created straight into the sandbox under its interface name, its address on the physical LAN.
 */
export interface DesiredLanEndpoint {
  /** `trmv-` + endpoint id: written as the device's alias, which marks it as ours. */
  hostName: string;
  kind: 'macvlan' | 'ipvlan';
  /** macvlan "bridge" | "private"; ipvlan "l2" | "l3". */
  mode: string;
  /** The host interface, by name. */
  parent: string;
  netns: string;
  interfaceName: string;
  /** undefined for ipvlan: its devices share the parent's MAC. */
  mac: string | undefined;
  address: string;
  /** undefined: the parent's, as the kernel gives it. */
  mtu: number | undefined;
}

/** An 802.1q device the agent makes as a LAN parent (`BASE.ID`), up and tagged VLAN_ALIAS. */
export interface DesiredVlan {
  name: string;
  base: string;
  id: number;
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
  | { kind: 'attached'; pid: number }
  /**
   * The host's own namespace (Docker's --network host), named `netns` by the agent (`ip netns
   * attach NAME $$` typed on the host) so that `ip netns exec` enters it. Nothing is ever written
   * in it; deleting the name only unmounts it.
   */
  | { kind: 'host' };

/** `trellis network connect --publish HOST_PORT:PORT/PROTOCOL`: DNAT from the host to the sandbox's egress address. */
export interface PublishedPortRule {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  port: number;
}

/** A sandbox's way out: a veth pair from the host's gateway bridge, its address from the gateway subnet. */
export interface DesiredEgress {
  hostName: string;
  interfaceName: string;
  address: string;
  mtu: number;
  published: PublishedPortRule[];
}

export interface DesiredSandbox {
  /** The name under /run/netns that `ip -n` enters. */
  netns: string;
  origin: NetnsOrigin;
  defaultRoute: DefaultRoute | undefined;
  /** undefined when the sandbox is on internal networks only. */
  egress: DesiredEgress | undefined;
}

/** The host's gateway bridge (Swarm's docker_gwbridge), with the host's address in the gateway subnet. */
export interface DesiredGateway {
  bridge: string;
  address: string;
  subnet: string;
  mtu: number;
}

/**
 * A bridge network (Docker's user-defined bridge, local to one node): a bridge in the host
 * namespace holding the gateway of each of its subnets, its sandboxes' veths on it.
 */
export interface DesiredLocalBridge {
  name: string;
  mtu: number;
  /** Every subnet's gateway, "a.b.c.d/len". */
  addresses: string[];
  /** The network's subnets (CIDR): what the firewall masquerades and isolates. */
  subnets: string[];
  /** --internal: nothing is forwarded out of it or into it. */
  internal: boolean;
  /** icc=false: its sandboxes reach the gateway, not each other. */
  isolated: boolean;
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
  /** Every network namespace under this prefix that is not wanted is removed. */
  networkNetnsPrefix: string;
  networks: DesiredNetwork[];
  sandboxes: DesiredSandbox[];
  endpoints: DesiredEndpoint[];
  lanEndpoints: DesiredLanEndpoint[];
  /** VLAN parents of the view's macvlan/ipvlan networks; ours (VLAN_ALIAS) that are not here are removed. */
  vlans: DesiredVlan[];
  /** undefined when no sandbox here has egress: the bridge, its firewall table and ip_forward are then not needed. */
  gateway: DesiredGateway | undefined;
  /** Bridge networks' bridges in the host namespace. */
  localBridges: DesiredLocalBridge[];
  /** Every overlay subnet of the cluster: the firewall keeps the gateway bridge from reaching them. */
  isolatedSubnets: string[];
  /**
   * The host's firewall table, made of the parts above and every sandbox's published ports; kept
   * whole when a scoped pass narrows the sandboxes down. undefined: no table wanted.
   */
  firewall: DesiredFirewall | undefined;
}
