import { IprouteKernel, processRunner, type CommandRunner } from '../../agent/kernel';
import { Reconciler } from '../../agent/reconcile';
import type { Teardown } from './teardown';

/** Every namespace and link a bench makes itself starts with this; the agent code's own objects keep theirs (trsb-, trvx-...). */
export const BENCH_PREFIX = 'trbn-';
/** Each "host" namespace's underlay interface. */
export const UPLINK = 'trbn-uplink';
export const UNDERLAY_MTU = 1500;

/** A "host": a network namespace with an underlay interface and address (198.19.0.0/24, clear of the lab's 198.18.0.0/24). */
export interface BenchHost {
  netns: string;
  address: string;
  nodeId: string;
}

export function ipIn(netns: string, ...args: string[]): Promise<string> {
  return processRunner.run(['ip', '-n', netns, ...args]);
}

export function execIn(netns: string, argv: string[], stdin?: string): Promise<string> {
  return processRunner.run(['ip', 'netns', 'exec', netns, ...argv], stdin);
}

/** A fresh namespace with lo up, deleted by its exact name on teardown. */
export async function createNetns(name: string, teardown: Teardown): Promise<void> {
  if (!name.startsWith(BENCH_PREFIX)) throw new Error(`bench namespace ${name} must start with ${BENCH_PREFIX}`);
  await processRunner.run(['ip', 'netns', 'add', name]);
  teardown.add(`deleting namespace ${name}`, () => deleteNetnsIfPresent(name));
  await ipIn(name, 'link', 'set', 'dev', 'lo', 'up');
}

export async function netnsNames(): Promise<string[]> {
  const listed = (await processRunner.run(['ip', '-j', 'netns', 'list'])).trim();
  return listed === '' ? [] : (JSON.parse(listed) as { name: string }[]).map((netns) => netns.name);
}

export async function deleteNetnsIfPresent(name: string): Promise<void> {
  if ((await netnsNames()).includes(name)) await processRunner.run(['ip', 'netns', 'del', name]);
}

/**
 * Two hosts joined by one veth pair (MTU 1500): the underlay. Namespace names carry `tag`
 * (unique per run), so two runs never share one.
 */
export async function createHostPair(tag: string, teardown: Teardown): Promise<[BenchHost, BenchHost]> {
  const host = (index: number): BenchHost => ({
    netns: `${BENCH_PREFIX}${tag}-h${index}`,
    address: `198.19.0.${index}`,
    nodeId: `${BENCH_PREFIX}${tag}-node${index}`,
  });
  const hosts: [BenchHost, BenchHost] = [host(1), host(2)];
  const [near, far] = hosts;
  for (const host of hosts) await createNetns(host.netns, teardown);
  await ipIn(near.netns, 'link', 'add', UPLINK, 'mtu', `${UNDERLAY_MTU}`, 'type', 'veth', 'peer', 'name', UPLINK, 'netns', far.netns, 'mtu', `${UNDERLAY_MTU}`);
  for (const host of hosts) {
    await ipIn(host.netns, 'addr', 'add', `${host.address}/24`, 'dev', UPLINK);
    await ipIn(host.netns, 'link', 'set', 'dev', UPLINK, 'up');
  }
  return hosts;
}

/**
 * The agent's Reconciler for a host namespace: underlay = the host's uplink, VXLAN source = its
 * address, and an owner tag unique to the run, so removeAll() takes this run's sandboxes and nobody else's.
 */
export function benchReconciler(host: BenchHost, owner: string, runner: CommandRunner = processRunner, linkKinds: readonly string[] = []): Reconciler {
  return new Reconciler({ underlayDevice: UPLINK, localAddress: host.address, owner, linkKinds }, new IprouteKernel(runner, { hostNetns: host.netns }));
}
