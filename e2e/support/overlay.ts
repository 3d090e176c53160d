import type { Sandbox } from '../../proto/gen/trellis/v1/types';
import { kernelJson, onHost, trellisJson } from './lab-driver';

/** What scenario tests ask of sandboxes and the kernel objects Trellis makes, through the CLI and iproute2. */

export interface KernelLink {
  ifname: string;
  ifindex: number;
}

/** A sandbox's namespace name under /run/netns, as `sandbox inspect` reports it. */
export function sandboxNamespace(name: string): string {
  return trellisJson<Sandbox>('m1', ['sandbox', 'inspect', name]).netns.replace('/run/netns/', '');
}

export function pingFromSandbox(host: string, sandbox: string, target: string, extra: string[] = ['-c', '1', '-W', '1']): boolean {
  return onHost(host, ['ip', 'netns', 'exec', sandboxNamespace(sandbox), 'ping', '-n', '-q', ...extra, target]).code === 0;
}

/** The host's links with Trellis's prefixes (VXLAN devices, bridges, host-side veths). */
export function trellisLinks(host: string): KernelLink[] {
  return kernelJson<KernelLink[]>(host, ['ip', 'link', 'show'])
    .filter((link) => /^tr(vx|br|ve)-/.test(link.ifname))
    .map(({ ifname, ifindex }) => ({ ifname, ifindex }));
}

export function ipOf(sandbox: string, network: string): string {
  const endpoint = trellisJson<Sandbox>('m1', ['sandbox', 'inspect', sandbox]).endpoints.find((e) => e.networkName === network);
  if (!endpoint) throw new Error(`${sandbox} has no endpoint on ${network}`);
  return endpoint.ip;
}
