import { VIP_ROUTE_PROTOCOL, type IpvsChange, type IpvsOp, type IpvsServiceId } from './ipvs-model';
import { serviceKey } from './ipvs-parse';

/** Which program writes an op, and its line in that program's batch input. */
export type IpvsCommand = { tool: 'ipvsadm' | 'ip'; line: string } | { tool: 'sysctl'; line: string };

const EXPIRE_NODEST_CONN = 'net.ipv4.vs.expire_nodest_conn=1';

export function commandOf(op: IpvsOp): IpvsCommand {
  switch (op.op) {
    case 'add-service':
      return { tool: 'ipvsadm', line: `-A ${serviceKey(op.service)} -s ${op.scheduler}` };
    case 'edit-service':
      return { tool: 'ipvsadm', line: `-E ${serviceKey(op.service)} -s ${op.scheduler}` };
    case 'delete-service':
      return { tool: 'ipvsadm', line: `-D ${serviceKey(op.service)}` };
    case 'delete-foreign':
      return { tool: 'ipvsadm', line: `-D ${op.key}` };
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

/** The input of one batch run (`ipvsadm -R`, `ip -batch -`) for these ops. */
export function batchLines(ops: readonly IpvsOp[], tool: 'ipvsadm' | 'ip'): string[] {
  return ops.map(commandOf).flatMap((command) => (command.tool === tool ? [command.line] : []));
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
 * In the namespace: the IPVS table first (so a VIP's route never leads to a missing service),
 * then the routes, then the sysctl (its file exists once ip_vs is loaded). A change that is only
 * ipvsadm lines, the usual one (a backend change), runs ipvsadm alone: no shell in between.
 */
function namespaceBlock(change: IpvsChange, netnsDir: string): string {
  const ipvsadm = batchLines(change.ops, 'ipvsadm');
  const ip = batchLines(change.ops, 'ip');
  const sysctl = change.ops.map(commandOf).filter((command) => command.tool === 'sysctl');
  const enter = `out=$(nsenter --net=${quote(netnsDir)}/"$ns" --`;
  let run: string;
  if (ip.length === 0 && sysctl.length === 0) {
    run = `${enter} ipvsadm -R 2>&1 <<'${END}'\n${ipvsadm.join('\n')}\n${END}\n)`;
  } else {
    const steps = [
      ...(ipvsadm.length > 0 ? [`ipvsadm -R <<'${END}'\n${ipvsadm.join('\n')}\n${END}`] : []),
      ...(ip.length > 0 ? [`ip -batch - <<'${END}'\n${ip.join('\n')}\n${END}`] : []),
      ...sysctl.map((command) => writeSysctl(command.line)),
    ];
    run = `${enter} sh -c ${quote(`set -e\n${steps.join('\n')}`)} 2>&1)`;
  }
  return `ns=${quote(change.netns)}
${run}
if [ $? -ne 0 ] || [ -n "$out" ]; then printf '@@ %s\\n%s\\n' "$ns" "$out"; fi
`;
}

/** `key=value` as a shell builtin's write to /proc/sys: no sysctl process. */
function writeSysctl(setting: string): string {
  const [key = '', value = ''] = setting.split('=');
  return `echo ${value} > /proc/sys/${key.replace(/\./g, '/')}`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
