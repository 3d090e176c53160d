import { VIP_ROUTE_PROTOCOL, type IpvsChange, type IpvsOp, type IpvsServiceId } from './ipvs-model';
import { serviceKey } from './ipvs-parse';

/** Which program writes an op, and its line in that program's batch input. */
export interface IpvsCommand {
  tool: 'ipvsadm' | 'ip' | 'sysctl';
  line: string;
}

const EXPIRE_NODEST_CONN = 'net.ipv4.vs.expire_nodest_conn=1';

export function commandOf(op: IpvsOp): IpvsCommand {
  switch (op.op) {
    case 'add-service':
      return { tool: 'ipvsadm', line: `-A ${serviceKey(op.service)} -s ${op.scheduler}` };
    case 'edit-service':
      return { tool: 'ipvsadm', line: `-E ${serviceKey(op.service)} -s ${op.scheduler}` };
    case 'delete-service':
      return { tool: 'ipvsadm', line: `-D ${serviceKey(op.service)}` };
    case 'add-real':
    case 'edit-real':
      return { tool: 'ipvsadm', line: `${op.op === 'add-real' ? '-a' : '-e'} ${real(op.service, op.real.ip, op.real.port)} ${op.real.forwarding} -w ${op.real.weight}` };
    case 'delete-real':
      return { tool: 'ipvsadm', line: `-d ${real(op.service, op.ip, op.port)}` };
    case 'set-timeouts':
      return { tool: 'ipvsadm', line: `--set ${op.timeouts.tcp} ${op.timeouts.tcpFin} ${op.timeouts.udp}` };
    case 'route-vip':
      return { tool: 'ip', line: `route replace ${op.route.vip}/32 dev lo proto ${VIP_ROUTE_PROTOCOL} src ${op.route.src}` };
    case 'unroute-vip':
      return { tool: 'ip', line: `route del ${op.vip}/32 dev lo proto ${VIP_ROUTE_PROTOCOL}` };
    case 'expire-nodest-conn':
      return { tool: 'sysctl', line: EXPIRE_NODEST_CONN };
  }
}

/** One op as a person reads it: the line its program gets (`ip route ...`, `ipvsadm -a ...`). */
export function describeOp(op: IpvsOp): string {
  const command = commandOf(op);
  return `${command.tool} ${command.line}`;
}

/** The ops as runs of one program each, in order: each run is one batch (`ipvsadm -R`, `ip -batch -`). */
export function batches(ops: readonly IpvsOp[]): IpvsCommand[][] {
  const runs: IpvsCommand[][] = [];
  for (const command of ops.map(commandOf)) {
    const last = runs.at(-1);
    if (last?.[0]?.tool === command.tool) last.push(command);
    else runs.push([command]);
  }
  return runs;
}

function real(service: IpvsServiceId, ip: string, port: number): string {
  return `${serviceKey(service)} -r ${ip}:${port}`;
}

const END = 'TRELLIS_IPVS_END';

/**
 * A shell script (for `sh -s`) that applies each change in its namespace and goes on past a
 * failing one. ipvsadm -R reports a refused line on stderr and still exits 0, so any output
 * counts as a failure: the script prints `@@ NAME` and that output for each namespace that failed.
 */
export function applyScript(changes: readonly IpvsChange[], netnsDir: string): string {
  return changes.map((change) => namespaceBlock(change, netnsDir)).join('');
}

/**
 * In the namespace, each run of ops in the plan's order (routes are added before a VIP's services
 * and removed after them). A change that is one ipvsadm run, the usual one (a backend change),
 * runs ipvsadm alone: no shell in between; otherwise one shell stops at the first failing run.
 */
function namespaceBlock(change: IpvsChange, netnsDir: string): string {
  const runs = batches(change.ops);
  const enter = `out=$(nsenter --net=${quote(netnsDir)}/"$ns" --`;
  const only = runs.length === 1 ? runs[0] : undefined;
  const run =
    only?.[0]?.tool === 'ipvsadm'
      ? `${enter} ipvsadm -R 2>&1 <<'${END}'\n${only.map((command) => command.line).join('\n')}\n${END}\n)`
      : `${enter} sh -c ${quote(`set -e\n${runs.map(shellRun).join('\n')}`)} 2>&1)`;
  return `ns=${quote(change.netns)}
${run}
if [ $? -ne 0 ] || [ -n "$out" ]; then printf '@@ %s\\n%s\\n' "$ns" "$out"; fi
`;
}

function shellRun(run: readonly IpvsCommand[]): string {
  const lines = run.map((command) => command.line);
  switch (run[0]?.tool) {
    case 'ipvsadm':
      return `ipvsadm -R <<'${END}'\n${lines.join('\n')}\n${END}`;
    case 'ip':
      return `ip -batch - <<'${END}'\n${lines.join('\n')}\n${END}`;
    default:
      return lines.map(writeSysctl).join('\n');
  }
}

/** `key=value` as a shell builtin's write to /proc/sys: no sysctl process. */
function writeSysctl(setting: string): string {
  const [key = '', value = ''] = setting.split('=');
  return `echo ${value} > /proc/sys/${key.replace(/\./g, '/')}`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
