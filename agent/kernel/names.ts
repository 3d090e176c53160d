/**
 * Every kernel object Trellis owns carries one of these prefixes, so a pass can tell its own
 * leftovers (even from a crashed earlier run) from everything else, which it never touches.
 */
export const VXLAN_PREFIX = 'trvx-';
export const BRIDGE_PREFIX = 'trbr-';
export const HOST_VETH_PREFIX = 'trve-';
export const SANDBOX_NETNS_PREFIX = 'trsb-';

export const OWNED_LINK_PREFIXES: readonly string[] = [VXLAN_PREFIX, BRIDGE_PREFIX, HOST_VETH_PREFIX];

/** Linux refuses interface names longer than IFNAMSIZ - 1. */
export const MAX_INTERFACE_NAME_LENGTH = 15;

const HOST_VETH_ID_CHARS = MAX_INTERFACE_NAME_LENGTH - HOST_VETH_PREFIX.length;

export function vxlanName(vni: number): string {
  return `${VXLAN_PREFIX}${vni}`;
}

export function bridgeName(vni: number): string {
  return `${BRIDGE_PREFIX}${vni}`;
}

export function hostVethName(endpointId: string): string {
  return `${HOST_VETH_PREFIX}${endpointId.slice(0, HOST_VETH_ID_CHARS)}`;
}

export function isOwnedLinkName(name: string): boolean {
  return OWNED_LINK_PREFIXES.some((prefix) => name.startsWith(prefix));
}

export function isSandboxNetnsName(name: string): boolean {
  return name.startsWith(SANDBOX_NETNS_PREFIX);
}

/** Where iproute2 keeps the namespace names it adds and attaches. */
export const NETNS_RUN_DIR = '/run/netns';

export function netnsRunPath(name: string): string {
  return `${NETNS_RUN_DIR}/${name}`;
}

/** 'self': the namespace of whoever opens the path. */
export function processNetnsPath(pid: number | 'self'): string {
  return `/proc/${pid}/ns/net`;
}
