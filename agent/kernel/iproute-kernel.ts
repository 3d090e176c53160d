import { Batch, HOST, KernelAction, ROOT, Scope, concurrentGroups, isLineBatch, toBatches } from './actions';
import { onlyAlreadyGone } from './batch-failures';
import { CommandFailed, CommandRunner, processRunner } from './command-runner';
import {
  parseArpRetransByDevice,
  parseDefaultRoute,
  parseFdb,
  parseLinks,
  parseNeighbours,
  parseNetnsNames,
} from './iproute-json';
import { isMissingTableError, listTableArgv, normalizeListing } from '../firewall';
import { Kernel, KernelApplyError } from './kernel';
import { AdoptedNetnsQuery, ObserveQuery, ObservedKernel, ObservedNetwork, ObservedSandbox } from './model';
import { BRIDGE_NETFILTER_MARK, readNamespaces } from './namespace-reads';
import { readNetnsIds } from './netns-identity';
import { VXLAN_PREFIX, isSandboxNetnsName, netnsRunPath, processNetnsPath } from './names';

type ReadTool = 'ip' | 'bridge' | 'nft' | 'sysctl' | 'sh';

/** Batches of one concurrent group run at most this many at a time: enough to overlap the kernel's waits, few processes. */
const CONCURRENT_BATCHES = 16;

export interface IprouteKernelOptions {
  /**
   * Run host-scope commands inside the namespace named `hostNetns` instead of the agent's own
   * (tests and the lab run several "hosts" from one process). `ip netns add/del/list` always run
   * unprefixed: under `ip -n X`, iproute2 unshares the mount namespace, so a namespace added
   * there would be bind-mounted where nobody else can see it.
   */
  hostNetns?: string;
}

/** Reads and writes the kernel with iproute2's JSON output and batch mode. */
export class IprouteKernel implements Kernel {
  constructor(
    private readonly runner: CommandRunner = processRunner,
    private readonly options: IprouteKernelOptions = {},
  ) {}

  async observe(query: ObserveQuery): Promise<ObservedKernel> {
    const { adopted, only } = query;
    const [links, names, identities, ipForwarding, firewall] = await Promise.all([
      only === undefined ? this.read(HOST, 'ip', '-j', '-d', 'addr', 'show') : this.readHostLinks(only.hostLinks),
      only === undefined ? this.listNamespaces() : { sandboxes: [...only.sandboxes], networks: [...only.networks] },
      this.identify(adopted),
      this.read(HOST, 'sysctl', '-n', 'net.ipv4.ip_forward'),
      this.readFirewall(query.firewallTable),
    ]);
    // Namespaces someone else named are read only when a sandbox adopts them: the rest are none of ours.
    const foreign = adopted.foreign.filter((name) => !isSandboxNetnsName(name) && (only?.sandboxes.has(name) ?? true));
    const sandboxNames = [...new Set([...names.sandboxes.filter(isSandboxNetnsName), ...foreign])];
    const networkNames = names.networks.filter((name) => name.startsWith(query.networkNetnsPrefix));
    const [sandboxReads, networkReads] = await Promise.all([
      readNamespaces(this.runner, 'sandbox', sandboxNames),
      readNamespaces(this.runner, 'network', networkNames),
    ]);
    // A name that does not exist was not read (see readNamespaces); one that exists but could not be read is broken.
    const presentSandboxes = sandboxNames.filter((netns) => sandboxReads.has(netns));
    const presentNetworks = networkNames.filter((netns) => networkReads.has(netns));
    const sandboxes = presentSandboxes.map((netns) => sandboxFrom(netns, sandboxReads.get(netns)));
    const networks = presentNetworks.map((netns) => networkFrom(netns, networkReads.get(netns)));
    return {
      hostLinks: links.split('\n').filter((line) => line.trim() !== '').flatMap(parseLinks),
      networks: networks.filter((network): network is ObservedNetwork => network !== undefined),
      brokenNetworks: presentNetworks.filter((_, index) => networks[index] === undefined),
      sandboxes: sandboxes.filter((sandbox): sandbox is ObservedSandbox => sandbox !== undefined),
      brokenSandboxes: presentSandboxes.filter((_, index) => sandboxes[index] === undefined),
      ...identities,
      ipForwarding: ipForwarding.trim() === '1',
      firewall,
    };
  }

  /** Every named namespace, as sandbox and network candidates. */
  private async listNamespaces(): Promise<{ sandboxes: string[]; networks: string[] }> {
    const listed = parseNetnsNames(await this.read(ROOT, 'ip', '-j', 'netns', 'list'));
    return { sandboxes: listed, networks: listed };
  }

  /** The named host links that exist, in one process: a missing one prints nothing. */
  private readHostLinks(names: ReadonlySet<string>): Promise<string> {
    const lines = [...names].map((name) => `addr show dev ${name}\n`).join('');
    return this.runner.run(this.argv(HOST, 'sh', '-c', 'ip -j -d -force -batch - 2>/dev/null; exit 0'), lines);
  }

  async apply(actions: readonly KernelAction[]): Promise<void> {
    const failures: string[] = [];
    for (const group of concurrentGroups(toBatches(actions))) {
      const outcomes = await atMostAtOnce(CONCURRENT_BATCHES, group, (batch) => this.failureOf(batch));
      failures.push(...outcomes.filter((failure): failure is string => failure !== undefined));
    }
    if (failures.length > 0) throw new KernelApplyError(failures);
  }

  /** undefined when the batch was applied, or when all it failed at was deleting what the kernel had removed already. */
  private async failureOf(batch: Batch): Promise<string | undefined> {
    try {
      await this.runBatch(batch);
      return undefined;
    } catch (error) {
      if (!(error instanceof CommandFailed)) throw error;
      if (isLineBatch(batch.tool) && onlyAlreadyGone(batch.lines, error.stderr)) return undefined;
      return `${error.argv.join(' ')}: ${error.stderr.trim()}`;
    }
  }

  /** Identities of the adopted namespaces and of the agent's own, which must never be adopted; none read when nothing is adopted. */
  private async identify(adopted: AdoptedNetnsQuery): Promise<Pick<ObservedKernel, 'netnsIds' | 'agentNetnsIds'>> {
    const paths = [...adopted.foreign, ...adopted.attached].map(netnsRunPath).concat(adopted.pids.map(processNetnsPath));
    if (paths.length === 0) return { netnsIds: {}, agentNetnsIds: [] };
    // `stat` runs where the agent runs, so /proc/self is the agent's namespace; the host's may be a named one (tests, the lab).
    const agentPaths = [processNetnsPath('self'), ...(this.options.hostNetns === undefined ? [] : [netnsRunPath(this.options.hostNetns)])];
    const netnsIds = await readNetnsIds(this.runner, [...agentPaths, ...paths]);
    const agentNetnsIds = agentPaths.map((path) => netnsIds[path]).filter((id): id is string => id !== undefined);
    return { netnsIds, agentNetnsIds };
  }

  private async readFirewall(table: string): Promise<string | undefined> {
    const [tool, ...args] = listTableArgv(table);
    if (tool !== 'nft') throw new Error(`unexpected firewall reader ${tool ?? ''}`);
    try {
      return normalizeListing(await this.read(HOST, 'nft', ...args));
    } catch (error) {
      if (error instanceof CommandFailed && isMissingTableError(error.stderr)) return undefined;
      throw error;
    }
  }

  private runBatch(batch: Batch): Promise<string> {
    if (batch.tool === 'nft') return this.runner.run(this.argv(batch.scope, 'nft', '-f', '-'), batch.lines.map((line) => line.join('\n')).join('\n'));
    // -e: a switch the kernel lacks (bridge netfilter without br_netfilter) is nothing to write.
    if (batch.tool === 'sysctl') return this.runner.run(this.argv(batch.scope, 'sysctl', '-q', '-e', '-w', ...batch.lines.flat()));
    // exec keeps the shell's PID, so `$$` is `ip` itself, in the namespace the scope entered.
    if (batch.tool === 'attach') return this.runner.run(this.argv(batch.scope, 'sh', '-c', 'exec ip netns attach "$1" "$$"', 'trellis-attach', ...batch.lines.flat()));
    // -force: one failed line must not keep the independent lines after it from being applied.
    const argv = this.argv(batch.scope, batch.tool, '-force', '-batch', '-');
    const stdin = batch.lines.map((line) => line.join(' ')).join('\n') + '\n';
    return this.runner.run(argv, stdin);
  }

  private read(scope: Scope, tool: ReadTool, ...args: string[]): Promise<string> {
    return this.runner.run(this.argv(scope, tool, ...args));
  }

  /**
   * Named namespaces are entered with `nsenter --net` rather than `ip -n`: iproute2's `-n` also
   * gives the command a fresh mount namespace, copying every mount (one per named namespace),
   * which made a pass over a thousand sandboxes several times slower. Every tool here talks
   * netlink or /proc/sys/net, so the network namespace is all it needs.
   */
  private argv(scope: Scope, tool: ReadTool, ...args: string[]): string[] {
    const netns = scope.kind === 'netns' ? scope.netns : scope.kind === 'host' ? this.options.hostNetns : undefined;
    if (netns !== undefined) return ['nsenter', `--net=${netnsRunPath(netns)}`, '--', tool, ...args];
    return [tool, ...args];
  }
}

/** `work` over every item, at most `limit` at a time; the results in the items' order. */
async function atMostAtOnce<T, R>(limit: number, items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** undefined when the namespace could not be read. */
function sandboxFrom(netns: string, lines: string[] | undefined): ObservedSandbox | undefined {
  if (lines === undefined) return undefined;
  const [links = '', routes = '', neighbourTables = ''] = lines;
  const arpRetrans = parseArpRetransByDevice(neighbourTables);
  return {
    netns,
    links: parseLinks(links).map((link) => ({ ...link, arpRetransMs: arpRetrans.get(link.name) })),
    defaultRoute: parseDefaultRoute(routes),
  };
}

/** undefined when the namespace could not be read. */
function networkFrom(netns: string, lines: string[] | undefined): ObservedNetwork | undefined {
  if (lines === undefined) return undefined;
  const [links = '', neighbours = '', ...rest] = lines;
  const switches = rest.find((line) => line.startsWith(BRIDGE_NETFILTER_MARK))?.slice(BRIDGE_NETFILTER_MARK.length);
  const fdb = rest.filter((line) => !line.startsWith(BRIDGE_NETFILTER_MARK));
  const onOurVxlan = (entry: { device: string }) => entry.device.startsWith(VXLAN_PREFIX);
  return {
    netns,
    links: parseLinks(links),
    bridgeNetfilter: switches ? switches.includes('1') : undefined,
    fdb: parseFdb(fdb.join('')).filter(onOurVxlan),
    // Batch lines take no options, so the IPv6 neighbours (link-local chatter) are dropped here.
    neighbours: parseNeighbours(neighbours).filter((entry) => onOurVxlan(entry) && !entry.ip.includes(':')),
  };
}
