import type { HostInterface } from '../../proto/gen/trellis/v1/types';
import { isOwnedLinkName } from '../kernel/names';
import { parseLinks } from '../kernel/iproute-json';
import { NODE_REPORT_LIMITS } from '../../proto/runtime/node-report';

/** The link kinds beyond overlay that network drivers need, as `ip link add ... type KIND` names them. */
export const PROBED_LINK_KINDS = ['macvlan', 'ipvlan', 'vlan'] as const;
export type ProbedLinkKind = (typeof PROBED_LINK_KINDS)[number];

/**
 * The host namespace's interfaces from `ip -j -d addr show`: what macvlan and ipvlan networks may
 * hang off. Trellis's own links are left out (they come and go with the view), and so is lo. A
 * host with more than the managers take (a container host's many veths) reports the likeliest
 * parents: devices of its own, VLANs, bonds and bridges before veths and tunnels. Pure.
 */
export function parseHostInterfaces(text: string): HostInterface[] {
  return parseLinks(text)
    .filter((link) => link.name !== '' && link.name !== 'lo' && !isOwnedLinkName(link.name))
    .map((link) => ({ name: link.name, kind: link.kind, addresses: link.addresses.slice(0, NODE_REPORT_LIMITS.addressesPerInterface) }))
    .sort((a, b) => parentRank(a.kind) - parentRank(b.kind) || a.name.localeCompare(b.name))
    .slice(0, NODE_REPORT_LIMITS.interfaces)
    .sort((a, b) => a.name.localeCompare(b.name));
}

const LIKELY_PARENT_KINDS = ['', 'vlan', 'bond', 'bridge'];

function parentRank(kind: string): number {
  return LIKELY_PARENT_KINDS.includes(kind) ? 0 : 1;
}

/** `sysctl -n net.ipv4.ip_local_port_range` ("32768\t60999"); undefined when it does not read as a range. Pure. */
export function parsePortRange(text: string): { first: number; last: number } | undefined {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (match === null) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return first >= 1 && first <= last && last <= 65535 ? { first, last } : undefined;
}

/**
 * What a refused `ip link add ... type KIND` says about the kernel: iproute2 prints "Unknown
 * device type" when the kernel has no such link type (no module), and some kernels answer "not
 * supported"; anything else is a failure of the probe itself, not an answer. Pure.
 */
export function kindIsMissing(stderr: string): boolean {
  return /Unknown device type|not supported/i.test(stderr);
}
