import { NETNS_RUN_DIR, networkNetnsName } from '../../agent/kernel/names';
import { labDown, labHost, labUp, onHostInBackground, trellisJson, trellisOk, type LabState } from '../../e2e/support/lab-driver';
import type { Network, Sandbox } from '../../proto/gen/trellis/v1/types';
import { waitForNamespaces } from '../attach-latency/busy-node';

export interface LabResult {
  /** Per change and member: ms from the owner holding the endpoint to the member's neighbour entry for it. */
  deliveries: number[];
  /** Per change: ms from `network connect` returning to the owner's sandbox holding its address. */
  ownerMs: number[];
}

const OWNER = 'a1';
const MEMBERS = ['a2', 'a3'] as const;
const WATCH_BOUND_S = 30;

/**
 * A shell loop on `host` that prints the time (ns, the machine's one clock) at which `probe`
 * first succeeds: a poll in the host itself, so no process start per try sits in the figure.
 */
function watch(host: string, probe: string): Promise<number> {
  const script = `end=$(( $(date +%s) + ${WATCH_BOUND_S} )); until ${probe}; do [ $(date +%s) -lt $end ] || exit 1; done; date +%s%N`;
  return onHostInBackground(host, ['sh', '-c', script]).then((result) => {
    if (result.code !== 0) throw new Error(`${host}: "${probe}" did not hold within ${WATCH_BOUND_S} s`);
    return Number(result.stdout.trim()) / 1e6;
  });
}

/**
 * Three gossiping agents in the lab: `changes` times a sandbox on a1 is connected to a network the
 * other two host, and each member's neighbour entry for it is timed from the moment the owner's
 * sandbox holds the address (the endpoint programmed on its owner).
 */
export async function runLab(changes: number, progress: (line: string) => void): Promise<LabResult> {
  const result: LabResult = { deliveries: [], ownerMs: [] };
  let state: LabState | undefined;
  try {
    state = labUp(1, 3, { gossip: true });
    const lab = state;
    trellisOk('m1', ['network', 'create', '--subnet', '10.234.0.0/22', 'bench-gossip']);
    const vni = trellisJson<Network>('m1', ['network', 'inspect', 'bench-gossip']).vni;
    for (const member of MEMBERS) {
      trellisOk('m1', ['sandbox', 'create', `anchor-${member}`, '--node', member]);
      trellisOk('m1', ['network', 'connect', 'bench-gossip', `anchor-${member}`]);
    }
    for (let i = 0; i < changes; i++) {
      const name = `hop-${i}`;
      trellisOk('m1', ['sandbox', 'create', name, '--node', OWNER]);
      const namespace = trellisJson<Sandbox>('m1', ['sandbox', 'inspect', name]).netns.replace(`${NETNS_RUN_DIR}/`, '');
      await waitForNamespaces([namespace], true);
      const ip = `10.234.1.${10 + i}`;
      const owner = watch(OWNER, `ip -n ${namespace} -o addr show | grep -q ' ${ip}/'`);
      const members = MEMBERS.map((member) => watch(member, `ip -n ${networkNetnsName(labHost(lab, member).address, vni)} neigh show to ${ip} | grep -q lladdr`));
      // The watchers' loops run before the change they watch for.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      trellisOk('m1', ['network', 'connect', '--ip', ip, 'bench-gossip', name]);
      const connected = Date.now();
      const ownerAt = await owner;
      result.ownerMs.push(ownerAt - connected);
      for (const at of await Promise.all(members)) result.deliveries.push(Math.max(0, at - ownerAt));
      progress(`lab change ${i}: owner after ${Math.round(ownerAt - connected)} ms, members after ${result.deliveries.slice(-MEMBERS.length).map(Math.round).join(', ')} ms more`);
    }
    return result;
  } finally {
    if (state) labDown();
  }
}
