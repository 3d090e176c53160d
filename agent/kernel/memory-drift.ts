import { setMtu } from './memory-commands';
import { MemLink, MemNamespace, addLink, addVethPair, deleteLink, linkIn, removeAddress, setMaster, setUp } from './memory-state';
import { MemoryWorld } from './memory-world';
import { FdbEntry, NeighbourEntry } from './model';

/**
 * What an operator or another program can do to MemoryKernel behind the agent's back. `netns` is
 * a name under /run/netns, or HOST_NETNS ('') for the host namespace. Each call throws when what
 * it names is not there, so a test cannot drift nothing by mistake.
 */
export class KernelDrift {
  constructor(private readonly world: MemoryWorld) {}

  /** `ip link del`: takes a veth's peer, entries and routes along, as the kernel does. */
  deleteLink(netns: string, name: string): void {
    deleteLink(this.link(netns, name));
  }

  setMtu(netns: string, name: string, mtu: number): void {
    setMtu(this.link(netns, name), mtu);
  }

  setDown(netns: string, name: string): void {
    setUp(this.link(netns, name), false);
  }

  setMac(netns: string, name: string, mac: string): void {
    this.link(netns, name).mac = mac;
  }

  setAlias(netns: string, name: string, alias: string | undefined): void {
    this.link(netns, name).alias = alias;
  }

  /** `ip link set master` / `nomaster` (undefined). */
  setMaster(netns: string, name: string, master: string | undefined): void {
    setMaster(this.link(netns, name), master === undefined ? undefined : this.link(netns, master).name);
  }

  setIsolated(netns: string, name: string, isolated: boolean): void {
    this.link(netns, name).isolated = isolated;
  }

  setArpRetrans(netns: string, name: string, ms: number): void {
    this.link(netns, name).arpRetransMs = ms;
  }

  /** A link someone else added: a veth with its peer beside it, or a device of `kind`. */
  addLink(netns: string, name: string, kind: 'veth' | 'bridge' | 'dummy'): void {
    const ns = this.ns(netns);
    if (kind !== 'veth') {
      addLink(ns, { name, kind, mtu: 1500, mac: this.world.newMac() });
      return;
    }
    addVethPair(ns, { name, mtu: 1500, mac: this.world.newMac() }, ns, { name: `${name.slice(0, 14)}p`, mtu: 1500, mac: this.world.newMac() });
  }

  addAddress(netns: string, name: string, address: string): void {
    this.link(netns, name).addresses.push(address);
  }

  /** `ip addr del`: the last address going takes the routes through the device along. */
  detachAddress(netns: string, name: string, address: string): void {
    removeAddress(this.link(netns, name), address);
  }

  deleteDefaultRoute(netns: string): void {
    const ns = this.ns(netns);
    if (ns.defaultRoute === undefined) throw new Error(`no default route in ${netns}`);
    ns.defaultRoute = undefined;
  }

  removeFdb(netns: string, device: string, mac: string): void {
    const ns = this.ns(netns);
    const kept = ns.fdb.filter((entry) => entry.device !== device || entry.mac !== mac);
    if (kept.length === ns.fdb.length) throw new Error(`no FDB entry ${mac} on ${device} in ${netns}`);
    ns.fdb = kept;
  }

  /** An entry the agent did not write, or one of its own made non-permanent or pointed elsewhere. */
  addStrayFdb(netns: string, entry: FdbEntry): void {
    const ns = this.ns(netns);
    linkIn(ns, entry.device);
    ns.fdb.push({ ...entry });
  }

  removeNeighbour(netns: string, device: string, ip: string): void {
    const ns = this.ns(netns);
    const kept = ns.neighbours.filter((entry) => entry.device !== device || entry.ip !== ip);
    if (kept.length === ns.neighbours.length) throw new Error(`no neighbour ${ip} on ${device} in ${netns}`);
    ns.neighbours = kept;
  }

  /** Replaces any entry for the same device and IP. */
  addStrayNeighbour(netns: string, entry: NeighbourEntry): void {
    const ns = this.ns(netns);
    linkIn(ns, entry.device);
    ns.neighbours = [...ns.neighbours.filter((other) => other.device !== entry.device || other.ip !== entry.ip), { ...entry }];
  }

  /** `ip netns del`: the name goes; the namespace too, with its veths' peers, unless a process holds it. */
  deleteNamespace(name: string): void {
    this.world.deleteName(name);
  }

  /** The name stays but leads nowhere that can be entered (a dangling /run/netns file). */
  breakNamespace(name: string): void {
    this.world.deleteName(name);
    this.world.names.set(name, { broken: true });
  }

  setBridgeNetfilter(netns: string, on: boolean): void {
    const ns = this.ns(netns);
    if (ns.bridgeNetfilter === undefined) throw new Error('br_netfilter is not loaded');
    ns.bridgeNetfilter = [on, on, on];
  }

  setIpForwarding(on: boolean): void {
    this.world.host.ipForwarding = on;
  }

  /** Replaces the table's listing (undefined: deletes the table), as `nft -f` by hand would. */
  setFirewall(table: string, listing: string | undefined): void {
    if (listing === undefined) this.world.host.firewall.delete(table);
    else this.world.host.firewall.set(table, listing);
  }

  /** Deletes the first rule (line) of the table that contains `fragment`. */
  deleteFirewallRule(table: string, fragment: string): void {
    const lines = (this.world.host.firewall.get(table) ?? '').split('\n');
    const at = lines.findIndex((line) => line.includes(fragment));
    if (at < 0) throw new Error(`no rule with ${fragment} in table ${table}`);
    lines.splice(at, 1);
    this.world.host.firewall.set(table, lines.join('\n'));
  }

  private ns(netns: string): MemNamespace {
    return netns === '' ? this.world.host : this.world.named(netns);
  }

  private link(netns: string, name: string): MemLink {
    return linkIn(this.ns(netns), name);
  }
}
