import { DefaultRoute, FdbEntry, NeighbourEntry } from './model';

/**
 * The state of MemoryKernel: network namespaces holding links, and the rules by which the kernel
 * changes more than it was asked to (a veth's peer dies with it, a namespace with its last
 * reference, entries and routes with their device, a bridge's MTU follows its ports). Pure data
 * and functions; the commands that drive it are in memory-commands.ts.
 */

/** A failure as the kernel (through iproute2) reports it: the text is what stderr would say. */
export class KernelRefusal extends Error {
  /**
   * `endsBatch`: iproute2 exits there instead of going on to the next line, without naming the
   * line (`ip neigh` and `ip ntable` on any failure, every command on an argument it cannot resolve).
   */
  constructor(message: string, readonly endsBatch = false) {
    super(message);
  }
}

export interface MemVxlan {
  vni: number;
  local: string;
  port: number;
  /** Ifindex of the underlay in `birthNs`, the namespace the device was created from. */
  underlayIfindex: number;
  birthNs: MemNamespace;
  learning: boolean;
  proxy: boolean;
}

export interface MemLink {
  name: string;
  kind: string;
  ns: MemNamespace;
  ifindex: number;
  mtu: number;
  up: boolean;
  mac: string;
  master: string | undefined;
  isolated: boolean;
  alias: string | undefined;
  vxlan: MemVxlan | undefined;
  /** The other end of a veth. */
  peer: MemLink | undefined;
  addresses: string[];
  arpRetransMs: number;
  /** A bridge whose MTU was set explicitly no longer follows its ports' (the kernel's BROPT_MTU_SET_BY_USER). */
  mtuSetByUser: boolean;
}

export interface MemNamespace {
  /** Stands for the nsfs inode: what netnsIds report. */
  id: number;
  links: Map<string, MemLink>;
  lastIfindex: number;
  defaultRoute: DefaultRoute | undefined;
  fdb: FdbEntry[];
  neighbours: NeighbourEntry[];
  /** The three bridge-nf-call-* switches; undefined without br_netfilter. */
  bridgeNetfilter: [boolean, boolean, boolean] | undefined;
  ipForwarding: boolean;
  /** nft tables of family ip, by name, as normalized listings. */
  firewall: Map<string, string>;
  alive: boolean;
}

/** What /run/netns/NAME is: a namespace's mount, or a file that cannot be entered (a dangling name). */
export type NetnsName = { ns: MemNamespace } | { broken: true };

export const ARP_RETRANS_DEFAULT_MS = 1000;
export const LOOPBACK_ADDRESS = '127.0.0.1/8';
const ETH_DATA_LEN = 1500;

export function newNamespace(id: number, brNetfilter: boolean): MemNamespace {
  const ns: MemNamespace = {
    id, links: new Map(), lastIfindex: 0, defaultRoute: undefined, fdb: [], neighbours: [],
    bridgeNetfilter: brNetfilter ? [true, true, true] : undefined, ipForwarding: false, firewall: new Map(), alive: true,
  };
  addLink(ns, { name: 'lo', kind: '', mtu: 65536, mac: '00:00:00:00:00:00' });
  return ns;
}

export interface NewLink {
  name: string;
  kind: string;
  mtu: number;
  mac: string;
}

export function addLink(ns: MemNamespace, fields: NewLink): MemLink {
  if (ns.links.has(fields.name)) throw new KernelRefusal('RTNETLINK answers: File exists');
  ns.lastIfindex += 1;
  const link: MemLink = {
    ...fields, ns, ifindex: ns.lastIfindex, up: false, master: undefined, isolated: false, alias: undefined,
    vxlan: undefined, peer: undefined, addresses: [], arpRetransMs: ARP_RETRANS_DEFAULT_MS, mtuSetByUser: false,
  };
  ns.links.set(link.name, link);
  return link;
}

/** Both ends of a veth, or neither. Returns the first end; the kernel registers (and numbers) the peer first. */
export function addVethPair(home: MemNamespace, end: Omit<NewLink, 'kind'>, peerHome: MemNamespace, peerEnd: Omit<NewLink, 'kind'>): MemLink {
  if (home.links.has(end.name) || peerHome.links.has(peerEnd.name)) throw new KernelRefusal('RTNETLINK answers: File exists');
  const peer = addLink(peerHome, { ...peerEnd, kind: 'veth' });
  const link = addLink(home, { ...end, kind: 'veth' });
  link.peer = peer;
  peer.peer = link;
  return link;
}

export function linkIn(ns: MemNamespace, name: string): MemLink {
  const link = ns.links.get(name);
  if (link === undefined) throw new KernelRefusal(`Cannot find device "${name}"`);
  return link;
}

/** Removes a link and everything the kernel takes along with it: its veth peer, entries and routes on either, port memberships. */
export function deleteLink(link: MemLink): void {
  for (const gone of link.peer === undefined ? [link] : [link, link.peer]) {
    const { ns } = gone;
    if (ns.links.get(gone.name) !== gone) continue;
    ns.links.delete(gone.name);
    ns.fdb = ns.fdb.filter((entry) => entry.device !== gone.name);
    ns.neighbours = ns.neighbours.filter((entry) => entry.device !== gone.name);
    flushRoutesVia(ns, gone.name);
    const formerMaster = gone.master;
    for (const port of ns.links.values()) {
      if (port.master === gone.name) setMaster(port, undefined);
    }
    if (formerMaster !== undefined) adjustBridgeMtu(ns, formerMaster);
  }
}

export function flushRoutesVia(ns: MemNamespace, device: string): void {
  if (ns.defaultRoute?.device === device) ns.defaultRoute = undefined;
}

/**
 * Ends a namespace: every link in it goes, and with each veth its peer elsewhere (the kernel's
 * teardown unregisters virtual devices, and a veth takes its pair along).
 */
export function destroyNamespace(ns: MemNamespace): void {
  for (const link of [...ns.links.values()]) deleteLink(link);
  ns.alive = false;
}

export function setMaster(port: MemLink, master: string | undefined): void {
  const former = port.master;
  port.master = master;
  port.isolated = false;
  if (former !== undefined) adjustBridgeMtu(port.ns, former);
  if (master !== undefined) adjustBridgeMtu(port.ns, master);
}

/** A bridge not given an MTU of its own takes its smallest port's, 1500 without ports (br_mtu_auto_adjust). */
export function adjustBridgeMtu(ns: MemNamespace, bridgeName: string): void {
  const bridge = ns.links.get(bridgeName);
  if (bridge === undefined || bridge.mtuSetByUser) return;
  const ports = [...ns.links.values()].filter((link) => link.master === bridgeName).map((link) => link.mtu);
  bridge.mtu = ports.length === 0 ? ETH_DATA_LEN : Math.min(...ports);
}

export function setUp(link: MemLink, up: boolean): void {
  link.up = up;
  // The loopback device gets its address when brought up; routes through a device go when it goes down.
  if (up && link.kind === '' && link.name === 'lo' && !link.addresses.includes(LOOPBACK_ADDRESS)) link.addresses.push(LOOPBACK_ADDRESS);
  if (!up) flushRoutesVia(link.ns, link.name);
}

/** A device's last IPv4 address going disables IPv4 on it, routes through it included (fib_disable_ip). */
export function removeAddress(link: MemLink, address: string): void {
  const at = link.addresses.indexOf(address);
  if (at < 0) throw new KernelRefusal('Error: ipv4: Address not found.');
  link.addresses.splice(at, 1);
  if (link.addresses.length === 0) flushRoutesVia(link.ns, link.name);
}
