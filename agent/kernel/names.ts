/**
 * Every kernel object Trellis owns carries one of these prefixes, so a pass can tell its own
 * leftovers (even from a crashed earlier run) from everything else, which it never touches.
 */
import { createHash } from 'node:crypto';
import { NETWORK_NETNS_PREFIX, SANDBOX_NETNS_PREFIX } from '../../proto/runtime/reserved';

export { NETWORK_NETNS_PREFIX, SANDBOX_NETNS_PREFIX };

export const VXLAN_PREFIX = 'trvx-';
export const BRIDGE_PREFIX = 'trbr-';
export const HOST_VETH_PREFIX = 'trve-';
export const GATEWAY_VETH_PREFIX = 'trgw-';
/** macvlan/ipvlan devices of LAN endpoints: the alias that marks one in a sandbox as ours (see plan-lan.ts). */
export const LAN_DEVICE_PREFIX = 'trmv-';
/** The alias of the 802.1q devices the agent creates as LAN parents (`eth0.42`): only those are ever removed. */
export const VLAN_ALIAS = 'trellis-vlan';
/** The host-namespace bridge of a bridge network (Docker's user-defined bridge), by the network id. */
export const LOCAL_BRIDGE_PREFIX = 'trlb-';
/** Swarm's docker_gwbridge, by the name the issue gives it: users look for it. */
export const GATEWAY_BRIDGE = 'trellis_gw';
/** The sandbox end of the gateway veth. */
export const EGRESS_INTERFACE = 'gw0';
/** The nftables table (family ip) of the host namespace that the agent owns whole. */
export const FIREWALL_TABLE = 'trellis';

/**
 * Links of ours in the host namespace. Overlay bridges, VXLAN devices and endpoint veths live in
 * network namespaces; found here they are leftovers (a crash between creating a VXLAN device and
 * moving it, or an older agent's layout) and are removed, save bridge networks' own bridges and
 * their endpoints' host ends, which live here.
 */
export const OWNED_LINK_PREFIXES: readonly string[] = [VXLAN_PREFIX, BRIDGE_PREFIX, HOST_VETH_PREFIX, GATEWAY_VETH_PREFIX, LOCAL_BRIDGE_PREFIX];

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

export function lanDeviceName(endpointId: string): string {
  return `${LAN_DEVICE_PREFIX}${endpointId.slice(0, MAX_INTERFACE_NAME_LENGTH - LAN_DEVICE_PREFIX.length)}`;
}

/** 'trlb-' and the network id's first 10 characters. */
export function localBridgeName(networkId: string): string {
  return `${LOCAL_BRIDGE_PREFIX}${networkId.slice(0, MAX_INTERFACE_NAME_LENGTH - LOCAL_BRIDGE_PREFIX.length)}`;
}

export function gatewayVethName(sandboxId: string): string {
  return `${GATEWAY_VETH_PREFIX}${sandboxId.slice(0, MAX_INTERFACE_NAME_LENGTH - GATEWAY_VETH_PREFIX.length)}`;
}

export function isOwnedLinkName(name: string): boolean {
  return name === GATEWAY_BRIDGE || OWNED_LINK_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * Agents sharing a machine (the lab) share /run/netns, so each owner's network namespaces carry
 * a short digest of its tag: it removes every unwanted name under its own prefix and no other.
 */
export function networkNetnsPrefix(ownerTag: string): string {
  return `${NETWORK_NETNS_PREFIX}${createHash('sha256').update(ownerTag).digest('hex').slice(0, 8)}-`;
}

export function networkNetnsName(ownerTag: string, vni: number): string {
  return `${networkNetnsPrefix(ownerTag)}${vni}`;
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
