import type { IpvsChange, IpvsOp, IpvsServiceId } from './ipvs-model';
import { serviceKey } from './ipvs-parse';

/**
 * The `ipvsadm -R` input for one namespace's changes: one line per op, all written by one
 * process. The sysctl op has no ipvsadm form (see applyScript).
 */
export function restoreLines(ops: readonly IpvsOp[]): string[] {
  return ops.flatMap((op): string[] => {
    switch (op.op) {
      case 'add-service':
        return [`-A ${serviceKey(op.service)} -s ${op.scheduler}`];
      case 'edit-service':
        return [`-E ${serviceKey(op.service)} -s ${op.scheduler}`];
      case 'delete-service':
        return [`-D ${serviceKey(op.service)}`];
      case 'delete-foreign':
        return [`-D ${op.key}`];
      case 'add-real':
      case 'edit-real':
        return [`${op.op === 'add-real' ? '-a' : '-e'} ${real(op.service, op.real.ip, op.real.port)} ${op.real.forwarding} -w ${op.real.weight}`];
      case 'delete-real':
        return [`-d ${real(op.service, op.ip, op.port)}`];
      case 'set-timeouts':
        return [`--set ${op.timeouts.tcp} ${op.timeouts.tcpFin} ${op.timeouts.udp}`];
      case 'expire-nodest-conn':
        return [];
    }
  });
}

function real(service: IpvsServiceId, ip: string, port: number): string {
  return `${serviceKey(service)} -r ${ip}:${port}`;
}

const EXPIRE_NODEST_CONN = 'echo 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn';
const END = 'TRELLIS_IPVS_END';

/**
 * A shell script (for `sh -s`) that applies each change in its namespace and goes on past a
 * failing one. ipvsadm -R reports a refused line on stderr and still exits 0, so any output
 * counts as a failure: the script prints `@@ NAME` and that output for each namespace that failed.
 */
export function applyScript(changes: readonly IpvsChange[], netnsDir: string): string {
  return changes.map((change) => namespaceBlock(change, netnsDir)).join('');
}

function namespaceBlock(change: IpvsChange, netnsDir: string): string {
  const lines = restoreLines(change.ops);
  const steps = [...(lines.length > 0 ? ['ipvsadm -R'] : []), ...(change.ops.some((op) => op.op === 'expire-nodest-conn') ? [EXPIRE_NODEST_CONN] : [])];
  // ipvsadm alone needs no shell in the namespace: one process fewer per namespace on each pass.
  const inner = steps.length === 1 && lines.length > 0 ? 'ipvsadm -R' : `sh -c ${quote(steps.join(' && '))}`;
  return `ns=${quote(change.netns)}
out=$(nsenter --net=${quote(netnsDir)}/"$ns" -- ${inner} 2>&1 <<'${END}'
${lines.join('\n')}
${END}
)
if [ $? -ne 0 ] || [ -n "$out" ]; then printf '@@ %s\\n%s\\n' "$ns" "$out"; fi
`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
