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

export interface ObservedKernel {
  /** Every link of the host namespace, ours or not (the underlay device is read from here). */
  hostLinks: ObservedLink[];
  /** Namespaces named with the sandbox prefix that could be entered and read. */
  sandboxes: ObservedSandbox[];
  /** Namespaces named with the sandbox prefix that exist as a name but cannot be entered. */
  brokenSandboxes: string[];
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

export interface DesiredSandbox {
  netns: string;
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
