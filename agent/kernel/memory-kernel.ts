import { Batch, KernelAction, describeAction, isLineBatch, toBatches } from './actions';
import { onlyAlreadyGone } from './batch-failures';
import { Kernel, KernelApplyError } from './kernel';
import { runLine } from './memory-commands';
import { KernelDrift } from './memory-drift';
import { KernelRefusal, MemLink, MemNamespace, addVethPair, setUp } from './memory-state';
import { MemoryWorld } from './memory-world';
import { AdoptedNetnsQuery, ObserveQuery, ObservedKernel, ObservedLink, ObservedNetwork, ObservedSandbox } from './model';
import { VXLAN_PREFIX, isSandboxNetnsName, netnsRunPath, processNetnsPath } from './names';

export interface MemoryKernelOptions {
  /** Whether br_netfilter is loaded: its switches exist (on) in every namespace. Default true. */
  brNetfilter?: boolean;
  /** net.ipv4.ip_forward of the host namespace at the start. Default false. */
  ipForwarding?: boolean;
}

/** The host namespace, where a drift or setup call names a namespace. */
export const HOST_NETNS = '';

/**
 * A pure in-memory Linux kernel for the objects Trellis touches, behind the same interface as
 * IprouteKernel: apply() interprets every write the planner makes (memory-commands.ts), with the
 * kernel's side effects and refusals, and observe() reads back exactly what IprouteKernel would.
 * `drift` changes it behind the agent's back. See memory-kernel.test.ts for the semantics and
 * reconcile/memory-kernel-fidelity.kernel.test.ts for the comparison against the real kernel.
 *
 * Simplified: namespaces end at once (the kernel's teardown is asynchronous); VXLAN devices
 * never learn, links never lose carrier, nothing but the agent and `drift` writes; only the
 * default route, IPv4 and the arp_cache retransmit time are modelled; the firewall table is
 * kept as the normalized text of the table the script declares, which equals what the real nft
 * lists for every table renderTable() makes (firewall.kernel.test.ts); MACs are deterministic.
 */
export class MemoryKernel implements Kernel {
  private readonly world: MemoryWorld;
  readonly drift: KernelDrift;
  /** Every action applied, in order (failed ones included). */
  readonly applied: KernelAction[] = [];

  constructor(options: MemoryKernelOptions = {}) {
    this.world = new MemoryWorld(options.brNetfilter ?? true);
    this.world.host.ipForwarding = options.ipForwarding ?? false;
    this.drift = new KernelDrift(this.world);
  }

  /** An underlay as the kernel tests make one: an up veth `name` holding `address`, its peer up beside it. */
  addUnderlay(name: string, mtu: number, address: string): void {
    const { host } = this.world;
    const link = addVethPair(host, { name, mtu, mac: this.world.newMac() }, host, { name: `${name}-peer`, mtu, mac: this.world.newMac() });
    if (link.peer !== undefined) setUp(link.peer, true);
    setUp(link, true);
    link.addresses.push(address);
  }

  /** A process in a network namespace of its own (as `unshare --net`): its PID, to attach or adopt. */
  startProcess(): number {
    return this.world.startProcess();
  }

  /** The processes running, by PID. */
  processIds(): number[] {
    return [...this.world.processes.keys()];
  }

  /** The process ends; its namespace with it, unless a name still holds it. */
  killProcess(pid: number): void {
    this.world.killProcess(pid);
  }

  /** A namespace a container runtime named: its own veth `ext0` (peer `ext1` beside it) with an address, lo down. */
  addForeignNamespace(name: string): void {
    const ns = this.world.addName(name);
    const link = addVethPair(ns, { name: 'ext0', mtu: 1500, mac: this.world.newMac() }, ns, { name: 'ext1', mtu: 1500, mac: this.world.newMac() });
    link.addresses.push('192.0.2.1/24');
  }

  /** The names under /run/netns, sorted. */
  namespaceNames(): string[] {
    return [...this.world.names.keys()].sort();
  }

  /** A process's namespace read as a sandbox (also once no name leads to it); undefined when the process is gone. */
  processNamespace(pid: number): ObservedSandbox | undefined {
    const ns = this.world.processes.get(pid);
    return ns && readSandbox(processNetnsPath(pid), ns);
  }

  /** Every link of every live namespace, named or not: what a leak would hide in. */
  allLinks(): { namespace: number; link: ObservedLink }[] {
    return this.world.namespaces().flatMap((ns) => sortedLinks(ns).map((link) => ({ namespace: ns.id, link: observedLink(link, true, false) })));
  }

  /** `query.only`: read only those sandbox and network namespaces and host links (a scoped pass), as IprouteKernel does. */
  observe(query: ObserveQuery): Promise<ObservedKernel> {
    const { world } = this;
    const { adopted } = query;
    // `ip netns list` prints them in /run/netns's directory order, which follows no rule a test could rely on: sorted here.
    const listed = [...world.names.keys()].sort();
    const present = new Set(listed);
    const foreign = adopted.foreign.filter((name) => !isSandboxNetnsName(name) && present.has(name));
    const selected = (kind: 'sandboxes' | 'networks') => (name: string) => query.only?.[kind].has(name) ?? true;
    const sandboxNames = [...listed.filter(isSandboxNetnsName), ...foreign].filter(selected('sandboxes'));
    const networkNames = listed.filter((name) => name.startsWith(query.networkNetnsPrefix)).filter(selected('networks'));
    const enterable = (name: string) => {
      const named = world.names.get(name);
      return named !== undefined && 'ns' in named ? named.ns : undefined;
    };
    const firewall = world.host.firewall.get(query.firewallTable);
    // Every part is a copy: what a caller does with it never reaches the kernel.
    return Promise.resolve({
      hostLinks: sortedLinks(world.host)
        .filter((link) => query.only?.hostLinks.has(link.name) ?? true)
        .map((link) => observedLink(link, true, false)),
      networks: networkNames.flatMap((name) => {
        const ns = enterable(name);
        return ns === undefined ? [] : [readNetwork(name, ns)];
      }),
      brokenNetworks: networkNames.filter((name) => enterable(name) === undefined),
      sandboxes: sandboxNames.flatMap((name) => {
        const ns = enterable(name);
        return ns === undefined ? [] : [readSandbox(name, ns)];
      }),
      brokenSandboxes: sandboxNames.filter((name) => enterable(name) === undefined),
      ...identities(world, adopted),
      ipForwarding: world.host.ipForwarding,
      firewall,
    });
  }

  /** Throws UnsupportedAction, at the first write it does not model, rather than reject with a KernelApplyError. */
  async apply(actions: readonly KernelAction[]): Promise<void> {
    this.applied.push(...actions);
    const failures = toBatches(actions).map((batch) => this.failureOf(batch)).filter((failure): failure is string => failure !== undefined);
    if (failures.length > 0) throw new KernelApplyError(failures);
  }

  /** As IprouteKernel: a batch fails unless all it failed at was deleting what was gone already. */
  private failureOf(batch: Batch): string | undefined {
    const described = describeAction({ scope: batch.scope, tool: batch.tool, args: batch.lines.flat() });
    let ns: MemNamespace;
    try {
      ns = this.world.enter(batch.scope);
    } catch (error) {
      if (error instanceof KernelRefusal) return `${described}: ${error.message}`;
      throw error;
    }
    const stderr: string[] = [];
    for (const [index, args] of batch.lines.entries()) {
      try {
        runLine(this.world, batch.scope, ns, { tool: batch.tool, args: [...args] });
      } catch (error) {
        if (!(error instanceof KernelRefusal)) throw error;
        stderr.push(error.message);
        if (error.endsBatch) break;
        if (isLineBatch(batch.tool)) stderr.push(`Command failed -:${index + 1}`);
      }
    }
    if (stderr.length === 0) return undefined;
    if (isLineBatch(batch.tool) && onlyAlreadyGone(batch.lines, stderr.join('\n'))) return undefined;
    return `${described}: ${stderr.join('\n')}`;
  }
}

/** As IprouteKernel identifies the adopted namespaces' paths and its own; nothing when nothing is adopted. */
function identities(world: MemoryWorld, adopted: AdoptedNetnsQuery): Pick<ObservedKernel, 'netnsIds' | 'agentNetnsIds'> {
  const paths = [...adopted.foreign, ...adopted.attached].map(netnsRunPath).concat(adopted.pids.map(processNetnsPath));
  if (paths.length === 0) return { netnsIds: {}, agentNetnsIds: [] };
  const agentPath = processNetnsPath('self');
  const netnsIds: Record<string, string> = {};
  for (const path of [agentPath, ...paths]) {
    const id = world.identity(path);
    if (id !== undefined) netnsIds[path] = id;
  }
  return { netnsIds, agentNetnsIds: [netnsIds[agentPath] ?? ''] };
}

function sortedLinks(ns: MemNamespace): MemLink[] {
  return [...ns.links.values()].sort((a, b) => a.ifindex - b.ifindex);
}

/**
 * As parseLink reads `ip -j -d`: `link_index` comes with `link_netnsid`, for a veth whose peer is
 * in another namespace and for a VXLAN device born in another (measured: its own ifindex); the
 * VXLAN underlay is printed as the name of whichever link of this namespace has its index.
 */
function observedLink(link: MemLink, withAddresses: boolean, withArp: boolean): ObservedLink {
  const { vxlan } = link;
  const otherNs = link.peer !== undefined && link.peer.ns !== link.ns;
  const bornElsewhere = vxlan !== undefined && vxlan.birthNs !== link.ns;
  const printedUnderlay = vxlan && ([...link.ns.links.values()].find((other) => other.ifindex === vxlan.underlayIfindex)?.name ?? `if${vxlan.underlayIfindex}`);
  return {
    name: link.name,
    kind: link.kind,
    ifindex: link.ifindex,
    peerIfindex: otherNs ? link.peer?.ifindex : bornElsewhere ? link.ifindex : undefined,
    mtu: link.mtu,
    up: link.up,
    mac: link.mac,
    master: link.master,
    isolated: link.master === undefined ? undefined : link.isolated,
    alias: link.alias,
    vxlan: vxlan && {
      vni: vxlan.vni, local: vxlan.local, port: vxlan.port, underlayDevice: printedUnderlay ?? '', learning: vxlan.learning, proxy: vxlan.proxy,
    },
    // The memory kernel makes no macvlan or ipvlan devices.
    mode: undefined,
    addresses: withAddresses ? [...link.addresses] : [],
    arpRetransMs: withArp ? link.arpRetransMs : undefined,
  };
}

/** `addr show`, `route show default` and `ntable show`, as namespace-reads.ts reads a sandbox. */
function readSandbox(netns: string, ns: MemNamespace): ObservedSandbox {
  return { netns, links: sortedLinks(ns).map((link) => observedLink(link, true, true)), defaultRoute: ns.defaultRoute && { ...ns.defaultRoute } };
}

/** `link show` (no addresses), IPv4 neighbours and self FDB entries of our VXLAN devices, the bridge netfilter switches. */
function readNetwork(netns: string, ns: MemNamespace): ObservedNetwork {
  const onOurVxlan = (entry: { device: string }) => entry.device.startsWith(VXLAN_PREFIX);
  return {
    netns,
    links: sortedLinks(ns).map((link) => observedLink(link, false, false)),
    fdb: ns.fdb.filter(onOurVxlan).map((entry) => ({ ...entry })),
    neighbours: ns.neighbours.filter(onOurVxlan).map((entry) => ({ ...entry })),
    bridgeNetfilter: ns.bridgeNetfilter === undefined ? undefined : ns.bridgeNetfilter.includes(true),
  };
}
