import { Batch, KernelAction, Scope, toBatches } from './actions';
import { CommandFailed, CommandRunner, processRunner } from './command-runner';
import {
  parseArpRetransByDevice,
  parseDefaultRoute,
  parseFdb,
  parseLinks,
  parseNeighbours,
  parseNetnsNames,
} from './iproute-json';
import { Kernel, KernelApplyError } from './kernel';
import { AdoptedNetnsQuery, NO_ADOPTED_NETNS, ObservedKernel, ObservedSandbox } from './model';
import { readNetnsIds } from './netns-identity';
import { VXLAN_PREFIX, isSandboxNetnsName, netnsRunPath, processNetnsPath } from './names';

export interface IprouteKernelOptions {
  /**
   * Run host-scope commands as `ip -n <hostNetns>` instead of in the agent's own namespace
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

  async observe(adopted: AdoptedNetnsQuery = NO_ADOPTED_NETNS): Promise<ObservedKernel> {
    const [links, fdb, neighbours, netnsNames, identities] = await Promise.all([
      this.read({ kind: 'host' }, 'ip', '-j', '-d', 'link', 'show'),
      this.read({ kind: 'host' }, 'bridge', '-j', 'fdb', 'show'),
      this.read({ kind: 'host' }, 'ip', '-4', '-j', 'neigh', 'show'),
      this.read({ kind: 'root' }, 'ip', '-j', 'netns', 'list'),
      this.identify(adopted),
    ]);
    const listed = parseNetnsNames(netnsNames);
    const present = new Set(listed);
    // Namespaces someone else named are read only when a sandbox adopts them: the rest are none of ours.
    const foreign = adopted.foreign.filter((name) => !isSandboxNetnsName(name) && present.has(name));
    const sandboxNames = [...listed.filter(isSandboxNetnsName), ...foreign];
    const sandboxes = await Promise.all(sandboxNames.map((netns) => this.observeSandbox(netns)));
    const onOurVxlan = (entry: { device: string }) => entry.device.startsWith(VXLAN_PREFIX);
    return {
      hostLinks: parseLinks(links),
      sandboxes: sandboxes.filter((sandbox): sandbox is ObservedSandbox => sandbox !== undefined),
      brokenSandboxes: sandboxNames.filter((_, index) => sandboxes[index] === undefined),
      ...identities,
      fdb: parseFdb(fdb).filter(onOurVxlan),
      neighbours: parseNeighbours(neighbours).filter(onOurVxlan),
    };
  }

  async apply(actions: readonly KernelAction[]): Promise<void> {
    const failures: string[] = [];
    for (const batch of toBatches(actions)) {
      try {
        await this.runBatch(batch);
      } catch (error) {
        if (!(error instanceof CommandFailed)) throw error;
        failures.push(`${error.argv.join(' ')}: ${error.stderr.trim()}`);
      }
    }
    if (failures.length > 0) throw new KernelApplyError(failures);
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

  /** undefined when the namespace cannot be entered (vanished meanwhile, or a dangling name). */
  private async observeSandbox(netns: string): Promise<ObservedSandbox | undefined> {
    const scope: Scope = { kind: 'sandbox', netns };
    try {
      // One process per sandbox: entering a namespace (`ip -n`) copies the mount table, which
      // costs more the more namespaces exist, so the three reads share one batch. One ntable
      // dump covers every device of the namespace. `route` defaults to IPv4; `-4` cannot be
      // global here, as it would hide links that have no IPv4 address yet.
      const output = await this.runner.run(this.argv(scope, 'ip', '-j', '-d', '-batch', '-'), 'addr show\nroute show default\nntable show\n');
      const [links = '', routes = '', neighbourTables = ''] = output.split('\n').filter((line) => line.trim() !== '');
      const arpRetrans = parseArpRetransByDevice(neighbourTables);
      return {
        netns,
        links: parseLinks(links).map((link) => ({ ...link, arpRetransMs: arpRetrans.get(link.name) })),
        defaultRoute: parseDefaultRoute(routes),
      };
    } catch (error) {
      if (error instanceof CommandFailed) return undefined;
      throw error;
    }
  }

  private runBatch(batch: Batch): Promise<string> {
    // -force: one failed line must not keep the independent lines after it from being applied.
    const argv = this.argv(batch.scope, batch.tool, '-force', '-batch', '-');
    const stdin = batch.lines.map((line) => line.join(' ')).join('\n') + '\n';
    return this.runner.run(argv, stdin);
  }

  private read(scope: Scope, tool: 'ip' | 'bridge', ...args: string[]): Promise<string> {
    return this.runner.run(this.argv(scope, tool, ...args));
  }

  /**
   * A sandbox is entered with `nsenter --net` rather than `ip -n`: iproute2's `-n` also gives
   * the command a fresh mount namespace, copying every mount (one per named namespace), which
   * made a pass over a thousand sandboxes several times slower. iproute2 talks netlink only, so
   * the network namespace is all it needs.
   */
  private argv(scope: Scope, tool: 'ip' | 'bridge', ...args: string[]): string[] {
    if (scope.kind === 'sandbox') return ['nsenter', `--net=${netnsRunPath(scope.netns)}`, '--', tool, ...args];
    if (scope.kind === 'host' && this.options.hostNetns !== undefined) return [tool, '-n', this.options.hostNetns, ...args];
    return [tool, ...args];
  }
}
