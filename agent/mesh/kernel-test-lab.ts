import type { CommandRunner } from '../kernel';
import { createUnderlay, deleteNetnsIfPresent, run } from '../reconcile/kernel-test-support';

/**
 * Hosts as namespaces on one underlay bridge (198.18.7.0/24), each backend host with a gateway
 * bridge and one sandbox on it (gw0, default route to the host), and a client host with nothing
 * of Trellis: the routing mesh's kernel tests drive each host's MeshStep through `hostRunner`.
 */

const tag = `trm${process.pid}`;
const GATEWAY_BRIDGE = 'trmgw';
const HOST_GATEWAY = '172.29.0.1';

export interface MeshTestHost {
  nodeId: string;
  netns: string;
  address: string;
  /** The backend sandbox's namespace and gw0 address, on hosts that run one. */
  sandbox?: { id: string; netns: string; address: string };
}

export const meshLab = {
  underlay: `${tag}-u`,
  client: { netns: `${tag}-k`, address: '198.18.7.9' },
  a: { nodeId: 'node-a', netns: `${tag}-a`, address: '198.18.7.1' } as MeshTestHost,
  b: { nodeId: 'node-b', netns: `${tag}-b`, address: '198.18.7.2', sandbox: { id: 'sb-b', netns: `trsb-${tag}b`, address: '172.29.0.2' } } as MeshTestHost,
  c: { nodeId: 'node-c', netns: `${tag}-c`, address: '198.18.7.3', sandbox: { id: 'sb-c', netns: `trsb-${tag}c`, address: '172.29.0.3' } } as MeshTestHost,
};

export const meshHosts = (): MeshTestHost[] => [meshLab.a, meshLab.b, meshLab.c];

/** Runs every command of a MeshStep inside that host's namespace. */
export function hostRunner(host: MeshTestHost): CommandRunner {
  return { run: (argv, stdin) => run(['ip', 'netns', 'exec', host.netns, ...argv], stdin) };
}

export async function buildMeshLab(): Promise<void> {
  await createUnderlay(meshLab.underlay, [...meshHosts().map((host) => ({ ns: host.netns, ip: host.address })), { ns: meshLab.client.netns, ip: meshLab.client.address }]);
  for (const host of meshHosts()) {
    const inHost = (...argv: string[]): Promise<string> => run(['ip', '-n', host.netns, ...argv]);
    await run(['ip', 'netns', 'exec', host.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // Strict reverse-path filtering everywhere, as hardened hosts have it: the tunnel must cope.
    await run(['ip', 'netns', 'exec', host.netns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=1']);
    if (host.sandbox === undefined) continue;
    await inHost('link', 'add', GATEWAY_BRIDGE, 'up', 'type', 'bridge');
    await inHost('addr', 'add', `${HOST_GATEWAY}/16`, 'dev', GATEWAY_BRIDGE);
    const sandbox = host.sandbox.netns;
    await run(['ip', 'netns', 'add', sandbox]);
    await inHost('link', 'add', 'trmport', 'master', GATEWAY_BRIDGE, 'up', 'type', 'veth', 'peer', 'name', 'gw0', 'netns', sandbox);
    await run(['ip', '-n', sandbox, 'addr', 'add', `${host.sandbox.address}/16`, 'dev', 'gw0']);
    await run(['ip', '-n', sandbox, 'link', 'set', 'dev', 'gw0', 'up']);
    await run(['ip', '-n', sandbox, 'link', 'set', 'dev', 'lo', 'up']);
    await run(['ip', '-n', sandbox, 'route', 'add', 'default', 'via', HOST_GATEWAY]);
  }
}

export async function removeMeshLab(): Promise<void> {
  const names = [meshLab.client.netns, meshLab.underlay, ...meshHosts().flatMap((host) => [host.netns, host.sandbox?.netns ?? ''])];
  for (const name of names.filter((netns) => netns !== '')) await deleteNetnsIfPresent(name).catch(() => undefined);
}
