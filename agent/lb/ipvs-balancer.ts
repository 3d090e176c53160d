import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { CommandRunner } from '../kernel/command-runner';
import { NETNS_RUN_DIR } from '../kernel/names';
import { parseFramed } from '../kernel/namespace-reads';
import type { LoadBalancer, NamespaceBalancing } from './model';
import { VIP_ROUTE_PROTOCOL, type IpvsChange, type IpvsObserved } from './ipvs-model';
import { OBSERVED_MARKS, parseIpvsNamespace } from './ipvs-parse';
import { planIpvs } from './ipvs-plan';
import { applyScript } from './ipvs-render';

/**
 * In one namespace: the IPVS table, its timeouts, expire_nodest_conn, then the addresses and the
 * VIP routes in one `ip` batch (`ip -j` prints one JSON line per command; lo always has an
 * address, so the first line is the addresses). Three processes, ipvsadm's over netlink.
 */
const OBSERVE_NAMESPACE = `ipvsadm -Sn && ipvsadm -L --timeout || exit 1
read v < /proc/sys/net/ipv4/vs/expire_nodest_conn
echo "${OBSERVED_MARKS.expire}$v"
ip=$(printf 'addr show\\nroute show proto ${VIP_ROUTE_PROTOCOL}\\n' | ip -4 -j -batch -) || exit 1
nl='
'
routes=
case $ip in *"$nl"*) routes=\${ip#*"$nl"} ;; esac
echo "${OBSERVED_MARKS.addresses}\${ip%%"$nl"*}"
echo "${OBSERVED_MARKS.routes}$routes"`;

/** Reads many namespaces through one shell loop: the agent spawns one process per CPU, not per namespace. */
const OBSERVE_LOOP = `dir=$1 script=$2
shift 2
for ns; do
  path="$dir/$ns"
  [ -e "$path" ] || continue
  echo "@@ $ns"
  nsenter --net="$path" -- sh -c "$script" || echo "@@failed"
done`;

/**
 * Service load balancing with IPVS in each client sandbox's own namespace, as Docker Swarm does
 * it: one plain TCP/UDP virtual service per VIP port (IPVS takes a locally made connection at
 * LOCAL_OUT: no firewall mark, no VIP address), real servers in NAT mode (-m: only the
 * destination is rewritten, the backend sees the client's address), scheduler rr, and a route
 * for the VIP through lo with the sandbox's own address as src (see IpvsVipRoute: a task calling
 * its own service). Draining is weight 0; a backend that leaves is deleted, and
 * expire_nodest_conn=1 ends its connections at their next packet.
 *
 * A VIP answers only the ports its service declares. IPVS takes every port only through a
 * firewall-mark service (a rule of nftables or iptables must mark the packets: a second engine
 * to keep in line, and the user-mode-linux kernel of the IPVS test lane has neither, so it could
 * not be tested) or a port-0 service (which IPVS accepts only persistent: every flow of a client
 * to one backend, no spread).
 */
export class IpvsBalancer implements LoadBalancer<IpvsObserved, IpvsChange> {
  readonly engine = 'ipvs';
  readonly vipPorts = 'declared';

  constructor(
    private readonly runner: CommandRunner,
    private readonly netnsDir: string = NETNS_RUN_DIR,
  ) {}

  /** Throws, after reading them all, if a namespace that exists could not be read. */
  async observe(netns: readonly string[]): Promise<Map<string, IpvsObserved>> {
    const read = new Map<string, string[] | undefined>();
    for (const output of await Promise.all(shares(netns).map((share) => this.runner.run(['sh', '-c', OBSERVE_LOOP, 'trellis-ipvs-observe', this.netnsDir, OBSERVE_NAMESPACE, ...share])))) {
      parseFramed(output, read);
    }
    const observed = new Map<string, IpvsObserved>();
    const failed: string[] = [];
    for (const [name, lines] of read) {
      if (lines === undefined) failed.push(name);
      else observed.set(name, parseIpvsNamespace(lines));
    }
    if (failed.length > 0) throw new Error(`ipvs: could not read the IPVS table of namespace(s) ${failed.join(', ')}`);
    return observed;
  }

  plan(desired: readonly NamespaceBalancing[], observed: ReadonlyMap<string, IpvsObserved>): IpvsChange[] {
    return planIpvs(desired, observed);
  }

  async apply(changes: readonly IpvsChange[]): Promise<void> {
    const outputs = await Promise.all(shares(changes).map((share) => this.runner.run(['sh', '-s'], applyScript(share, this.netnsDir))));
    const failures = new Map<string, string[] | undefined>();
    for (const output of outputs) parseFramed(output, failures);
    if (failures.size > 0) {
      const detail = [...failures].map(([name, lines]) => `${name}: ${(lines ?? []).join('; ') || 'nsenter or ipvsadm failed'}`);
      throw new Error(`ipvs: applying failed in ${failures.size} namespace(s): ${detail.join(' | ')}`);
    }
  }
}

/** Splits the namespaces over one shell per CPU: each namespace's ipvsadm runs are sequential. */
function shares<T>(items: readonly T[]): T[][] {
  const loops = Math.min(availableParallelism(), items.length);
  return Array.from({ length: loops }, (_, loop) => items.filter((_, index) => index % loops === loop));
}

/**
 * Whether this kernel has IPVS, for choosing the engine when `--lb` does not say: the table is in
 * /proc once ip_vs is loaded; otherwise `ipvsadm -Ln` asks the kernel (which loads the module
 * when it has one). False when ipvsadm is missing too.
 */
export async function detectIpvs(runner: CommandRunner, procFile = '/proc/net/ip_vs'): Promise<boolean> {
  if (existsSync(procFile)) return true;
  try {
    await runner.run(['ipvsadm', '-Ln']);
    return true;
  } catch {
    return false;
  }
}
