import { BRIDGE_PREFIX, GATEWAY_BRIDGE, GATEWAY_VETH_PREFIX, HOST_VETH_PREFIX, KernelAction, VXLAN_PREFIX } from '../kernel';

/** What a kernel write touches: the label of `trellis_drift_repaired_total{kind}`. */
export type ActionKind =
  | 'fdb'
  | 'neighbour'
  | 'veth'
  | 'vxlan'
  | 'bridge'
  | 'address'
  | 'route'
  | 'netns'
  | 'sysctl'
  | 'firewall'
  | 'other';

export const ACTION_KINDS: readonly ActionKind[] = [
  'fdb', 'neighbour', 'veth', 'vxlan', 'bridge', 'address', 'route', 'netns', 'sysctl', 'firewall', 'other',
];

const DEVICE_PREFIXES: ReadonlyArray<readonly [string, ActionKind]> = [
  [VXLAN_PREFIX, 'vxlan'],
  [BRIDGE_PREFIX, 'bridge'],
  [HOST_VETH_PREFIX, 'veth'],
  [GATEWAY_VETH_PREFIX, 'veth'],
  [GATEWAY_BRIDGE, 'bridge'],
];

const LINK_TYPES: ReadonlyMap<string, ActionKind> = new Map([['vxlan', 'vxlan'], ['bridge', 'bridge'], ['veth', 'veth']]);

/** `ip OBJECT ...`, by the spellings iproute2 documents (the agent writes the first of each). */
const IP_OBJECTS: ReadonlyMap<string, ActionKind> = new Map([
  ['neigh', 'neighbour'], ['neighbour', 'neighbour'], ['neighbor', 'neighbour'],
  ['addr', 'address'], ['address', 'address'],
  ['route', 'route'],
  ['netns', 'netns'],
  // Neighbour table parameters (ARP retransmit) are the per-device neigh sysctls written through netlink.
  ['ntable', 'sysctl'],
]);

/** Classifies one kernel write by what it changes. Pure; anything unrecognised is `other`. */
export function actionKind(action: KernelAction): ActionKind {
  const tool: string = action.tool;
  const [object = '', ...rest] = action.args;
  if (tool === 'bridge') return object === 'fdb' ? 'fdb' : 'other';
  if (tool === 'sysctl') return 'sysctl';
  if (tool === 'nft') return 'firewall';
  if (tool === 'attach') return 'netns';
  if (tool !== 'ip') return 'other';
  if (object === 'link') return linkKind(action, rest);
  if (object === 'netns' && rest[0] === 'exec' && rest.includes('sysctl')) return 'sysctl';
  return IP_OBJECTS.get(object) ?? 'other';
}

/**
 * `ip link add|del|set [dev|name] NAME ...`: the device's name says what it is when it carries one
 * of our prefixes; else a new link's `type`; else, inside a namespace, `lo` is the namespace's own
 * (brought up and tagged with its owner) and any other interface is a veth peer.
 */
function linkKind(action: KernelAction, rest: readonly string[]): ActionKind {
  const name = deviceName(rest);
  const prefixed = DEVICE_PREFIXES.find(([prefix]) => name.startsWith(prefix));
  if (prefixed !== undefined) return prefixed[1];
  const typeAt = rest.indexOf('type');
  const type = typeAt >= 0 ? LINK_TYPES.get(rest[typeAt + 1] ?? '') : undefined;
  if (type !== undefined) return type;
  if (action.scope.kind === 'netns' && rest[0] !== 'add') return name === 'lo' ? 'netns' : 'veth';
  return 'other';
}

function deviceName(rest: readonly string[]): string {
  const keyed = rest.findIndex((word) => word === 'dev' || word === 'name');
  if (keyed >= 0) return rest[keyed + 1] ?? '';
  return rest[1] ?? '';
}
