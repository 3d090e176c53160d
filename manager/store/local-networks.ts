import type { CreateNetwork } from './commands';
import { fail, notFound, ok, type Result } from './errors';
import { checkCount, shortened, sortedEntries } from './fields';
import { isInterfaceName } from './host-links';
import { LIMITS } from './limits';
import { cidrsOverlap } from '../../proto/runtime/ipv4';
import { storedCidr, type IpamRecord, type NetworkRecord, type NodeRecord, type StoreState } from './state';

/*
 * Where a network lives and how its driver is set up. Overlay networks reach every node that
 * connects a sandbox; bridge, macvlan and ipvlan networks are local to one node (Docker's local
 * scope), which must be able to make them: its agent reports its interfaces and the link kinds
 * its kernel has at registration (host-links.ts), and a network it could not program is refused here.
 */

export const DRIVERS = ['overlay', 'bridge', 'macvlan', 'ipvlan'] as const;
export type Driver = (typeof DRIVERS)[number];
type LocalDriver = Exclude<Driver, 'overlay'>;

/** The fields of a network record that follow from its driver; all absent for overlay networks. */
export type Placement = Pick<NetworkRecord, 'nodeId' | 'parent' | 'options'>;

interface OptionSpec {
  values: readonly string[];
  default: string;
  /** Values the kernel knows that Trellis does not program, refused with the supported list. */
  unsupported?: readonly string[];
}

const OPTIONS: Record<LocalDriver, Record<string, OptionSpec>> = {
  bridge: { icc: { values: ['true', 'false'], default: 'true' } },
  macvlan: { macvlan_mode: { values: ['bridge', 'private'], default: 'bridge', unsupported: ['vepa', 'passthru', 'source'] } },
  ipvlan: { ipvlan_mode: { values: ['l2', 'l3'], default: 'l2', unsupported: ['l3s'] } },
};

/** Docker's spelling of an option, stored under ours. */
const DOCKER_KEYS: Readonly<Record<string, string>> = { 'com.docker.network.bridge.enable_icc': 'icc' };

/** 802.1q sub-interface names: BASE.VLAN with a VLAN id of 1 to 4094. */
const VLAN_PARENT = /^(.+)\.(\d{1,4})$/;

export function isDriver(value: string): value is Driver {
  return DRIVERS.some((driver) => driver === value);
}

export function checkPlacement(state: StoreState, driver: Driver, command: CreateNetwork): Result<Placement> {
  const nodeRef = command.node ?? '';
  const parent = command.parent ?? '';
  const options = command.options ?? {};
  if (driver === 'overlay') {
    if (nodeRef !== '') {
      return fail('INVALID_ARGUMENT', 'node', `node: an overlay network reaches every node that connects a sandbox to it; give --node only with --driver bridge, macvlan or ipvlan`);
    }
    if (parent !== '') return fail('INVALID_ARGUMENT', 'parent', `parent: only macvlan and ipvlan networks have a parent interface; give --driver macvlan or ipvlan, or leave parent empty`);
    const [key] = Object.keys(options);
    if (key !== undefined) {
      return fail('INVALID_ARGUMENT', 'options', `options.${shortened(key)}: overlay networks take no driver options; give -o only with --driver bridge (icc), macvlan (macvlan_mode) or ipvlan (ipvlan_mode)`);
    }
    return ok({});
  }
  if ((command.vni ?? 0) !== 0) {
    return fail('INVALID_ARGUMENT', 'vni', `vni: a ${driver} network is local to one node and carries no VXLAN; leave vni empty`);
  }
  if (nodeRef === '') return fail('INVALID_ARGUMENT', 'node', `node: a ${driver} network lives on one node; give --node NODE`);
  const node = state.findNode(nodeRef);
  if (!node) return notFound('node', nodeRef);
  const checkedOptions = checkOptions(driver, options);
  if (!checkedOptions.ok) return checkedOptions;
  if (driver === 'bridge') {
    if (parent !== '') {
      return fail('INVALID_ARGUMENT', 'parent', `parent: a bridge network makes a bridge of its own on node "${node.name}" and has no parent; give --parent only with --driver macvlan or ipvlan`);
    }
    return ok({ nodeId: node.id, options: checkedOptions.value });
  }
  const checkedParent = checkParent(node, driver, parent);
  if (!checkedParent.ok) return checkedParent;
  return ok({ nodeId: node.id, parent, options: checkedOptions.value });
}

/** macvlan and ipvlan hang off an interface of the node, which its kernel must be able to give them. */
function checkParent(node: NodeRecord, driver: 'macvlan' | 'ipvlan', parent: string): Result<string> {
  const interfaces = (node.interfaces ?? []).map((link) => link.name);
  const has = interfaces.length === 0 ? '' : ` (node "${node.name}" has ${interfaces.join(', ')})`;
  if (parent === '') {
    return fail('INVALID_ARGUMENT', 'parent', `parent: a ${driver} network puts its sandboxes on the LAN of an interface of node "${node.name}"; give --parent DEV, like eth0${has}`);
  }
  if (!isInterfaceName(parent)) {
    return fail('INVALID_ARGUMENT', 'parent', `parent: ${JSON.stringify(shortened(parent))} is not an interface name; give one of node "${node.name}", like eth0 or eth0.42${has}`);
  }
  const kinds = node.linkKinds ?? [];
  if (kinds.length === 0) {
    return fail(
      'FAILED_PRECONDITION',
      'node',
      `node: the agent of node "${node.name}" did not report which link kinds its kernel can make (an agent from before ${driver} networks); upgrade its agent, then create the network`,
    );
  }
  if (!kinds.includes(driver)) {
    return fail(
      'FAILED_PRECONDITION',
      'driver',
      `driver: the kernel of node "${node.name}" lacks ${driver} (it can make ${kinds.join(', ')}); create the network on a node whose kernel has ${driver} (module ${driver}), or use another driver`,
    );
  }
  if (interfaces.includes(parent)) return ok(parent);
  const vlan = VLAN_PARENT.exec(parent);
  const base = vlan?.[1];
  const vlanId = Number(vlan?.[2]);
  if (base === undefined || !(vlanId >= 1 && vlanId <= 4094)) {
    if (interfaces.length === 0) return ok(parent);
    return fail('FAILED_PRECONDITION', 'parent', `parent: node "${node.name}" has no interface "${parent}"; give one it has: ${interfaces.join(', ')}`);
  }
  if (interfaces.length > 0 && !interfaces.includes(base)) {
    return fail(
      'FAILED_PRECONDITION',
      'parent',
      `parent: "${parent}" is VLAN ${vlanId} of "${base}", which node "${node.name}" does not have; give a VLAN of one it has: ${interfaces.join(', ')}`,
    );
  }
  if (!kinds.includes('vlan')) {
    return fail(
      'FAILED_PRECONDITION',
      'parent',
      `parent: "${parent}" would be an 802.1q VLAN device the agent creates, but the kernel of node "${node.name}" cannot make VLAN devices (no 8021q; it can make ${kinds.join(', ')}); give an existing interface as --parent, or create the VLAN device by hand first`,
    );
  }
  return ok(parent);
}

/** Docker's `-o KEY=VALUE`, each key the driver knows, every one stored with its default when not given. */
function checkOptions(driver: LocalDriver, given: Readonly<Record<string, string>>): Result<Record<string, string>> {
  const specs = OPTIONS[driver];
  const known = Object.keys(specs);
  const entries = sortedEntries(given);
  const count = checkCount('options', entries.length, LIMITS.driverOptions, 'network');
  if (!count.ok) return count;
  const options: Record<string, string> = {};
  for (const [givenKey, value] of entries) {
    const key = DOCKER_KEYS[givenKey] ?? givenKey;
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (spec === undefined) {
      return fail('INVALID_ARGUMENT', 'options', `options.${shortened(givenKey)}: ${driver} networks have no such option; they take ${known.map((name) => `${name}=${specs[name]?.values.join('|')}`).join(', ')}`);
    }
    if (Object.hasOwn(options, key)) {
      return fail('INVALID_ARGUMENT', 'options', `options.${givenKey}: is ${key} again (Docker's name for it); give it once`);
    }
    if (!spec.values.includes(value)) {
      const why = spec.unsupported?.includes(value) ? 'is not supported by Trellis' : 'is not a value of it';
      return fail('INVALID_ARGUMENT', 'options', `options.${givenKey}: "${shortened(value)}" ${why}; give ${spec.values.join(' or ')} (default ${spec.default})`);
    }
    options[key] = value;
  }
  for (const [key, spec] of Object.entries(specs)) if (!Object.hasOwn(options, key)) options[key] = spec.default;
  return ok(Object.fromEntries(sortedEntries(options)));
}

/**
 * Networks a node programs side by side must not share addresses: a local network overlaps no overlay
 * network and no other network local to its node (the others' nodes never see it). Overlay networks
 * keep their rule: they may overlap each other (a sandbox on both routes by its interfaces).
 */
export function refuseSubnetOverlap(state: StoreState, field: string, ipam: readonly IpamRecord[], placement: Placement): Result<void> {
  for (const other of state.networks.values()) {
    const relevant = placement.nodeId === undefined ? other.nodeId !== undefined : other.nodeId === undefined || other.nodeId === placement.nodeId;
    if (!relevant) continue;
    for (const entry of ipam) {
      const subnet = storedCidr(entry.subnet);
      const clash = other.ipam.find((config) => cidrsOverlap(storedCidr(config.subnet), subnet));
      if (clash === undefined) continue;
      const where =
        other.nodeId === undefined
          ? ''
          : placement.parent !== undefined && other.parent === placement.parent
            ? ` on the same parent ${other.parent} of node "${state.node(other.nodeId).name}"`
            : ` on node "${state.node(other.nodeId).name}"`;
      return fail(
        'INVALID_ARGUMENT',
        field,
        `${field}: ${entry.subnet} overlaps subnet ${clash.subnet} of ${other.driver} network "${other.name}"${where}; give a subnet outside it, or remove "${other.name}"`,
      );
    }
  }
  return ok(undefined);
}
