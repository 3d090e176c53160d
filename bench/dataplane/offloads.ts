import { BRIDGE_NETFILTER_SYSCTLS, processRunner } from '../../agent/kernel';
import { execIn, ipIn } from '../netns/hosts';
import type { OverlayPath } from './paths';

/** A device in a namespace. */
interface Device {
  netns: string;
  name: string;
}

/** The devices of a path the variants touch, found by looking, not by knowing the agent's layout. */
export interface PathDevices {
  /** The hosts' underlay interfaces. */
  uplinks: Device[];
  /** The sandboxes' interfaces and their peers (the ports on the bridge), wherever those live. */
  veths: Device[];
  /** The namespaces holding those peers, i.e. the bridges. */
  bridgeNetns: string[];
}

/** A kernel setting that can be read, changed, and put back. */
interface Knob {
  read(): Promise<string>;
  write(value: string): Promise<void>;
}

/** One setting tried on the Trellis path on top of the agent's defaults; never left behind. */
export interface Variant {
  name: string;
  /** undefined when it applies; else why it cannot be tried here. */
  unavailable(devices: PathDevices): Promise<string | undefined>;
  knobs(devices: PathDevices): { knob: Knob; value: string }[];
}

/** `ethtool -K` feature names and the names `ethtool -k` lists them under. */
const FEATURE_LISTING: Record<string, string> = { gro: 'generic-receive-offload' };

function feature(device: Device, name: string): Knob {
  const listed = FEATURE_LISTING[name] ?? name;
  return {
    async read() {
      const output = await execIn(device.netns, ['ethtool', '-k', device.name]);
      const value = new RegExp(`^${listed}: (on|off)`, 'm').exec(output)?.[1];
      if (value === undefined) throw new Error(`ethtool -k ${device.name} does not list ${listed}`);
      return value;
    },
    async write(value) {
      await execIn(device.netns, ['ethtool', '-K', device.name, name, value]);
    },
  };
}

/** /sys/class/net/DEV/threaded: NAPI polling in a kernel thread of its own (with GRO on, veth receives through NAPI). */
function threadedNapi(device: Device): Knob {
  const path = `/sys/class/net/${device.name}/threaded`;
  return {
    async read() {
      return (await execIn(device.netns, ['cat', path])).trim();
    },
    async write(value) {
      await execIn(device.netns, ['tee', path], `${value}\n`);
    },
  };
}

function sysctl(netns: string, key: string): Knob {
  return {
    async read() {
      return (await execIn(netns, ['sysctl', '-n', key])).trim();
    },
    async write(value) {
      await execIn(netns, ['sysctl', '-q', '-w', `${key}=${value}`]);
    },
  };
}

function ethtoolMissing(): Promise<string | undefined> {
  return processRunner.run(['ethtool', '--version']).then(() => undefined, () => 'ethtool is not installed (apt-get install ethtool)');
}

const gro = (devices: Device[]) => devices.map((device) => ({ knob: feature(device, 'gro'), value: 'on' }));
const everyVeth = (devices: PathDevices) => [...devices.uplinks, ...devices.veths];
const [BRIDGE_NETFILTER_IPV4 = ''] = BRIDGE_NETFILTER_SYSCTLS;

export const VARIANTS: Variant[] = [
  {
    name: 'GRO on the underlay veths',
    unavailable: ethtoolMissing,
    knobs: (devices) => gro(devices.uplinks),
  },
  {
    name: 'GRO on every veth of the path',
    unavailable: ethtoolMissing,
    knobs: (devices) => gro(everyVeth(devices)),
  },
  {
    name: 'GRO + rx-gro-list on every veth',
    unavailable: ethtoolMissing,
    knobs: (devices) => [...gro(everyVeth(devices)), ...everyVeth(devices).map((device) => ({ knob: feature(device, 'rx-gro-list'), value: 'on' }))],
  },
  {
    name: 'GRO + threaded NAPI on every veth',
    unavailable: ethtoolMissing,
    knobs: (devices) => [...gro(everyVeth(devices)), ...everyVeth(devices).map((device) => ({ knob: threadedNapi(device), value: '1' }))],
  },
  {
    // The agent turns these off in its network namespaces; this shows what that buys.
    name: "bridge netfilter back on (br_netfilter's default)",
    async unavailable(devices) {
      const netns = devices.bridgeNetns[0];
      if (netns === undefined) return 'no bridge found';
      return sysctl(netns, BRIDGE_NETFILTER_IPV4).read().then(() => undefined, () => 'br_netfilter is not loaded');
    },
    knobs: (devices) => devices.bridgeNetns.flatMap((netns) => BRIDGE_NETFILTER_SYSCTLS.map((key) => ({ knob: sysctl(netns, key), value: '1' }))),
  },
];

/** Applies a variant's settings and returns how to put every one of them back, in reverse order. */
export async function applyVariant(variant: Variant, devices: PathDevices): Promise<() => Promise<void>> {
  const undo: (() => Promise<void>)[] = [];
  const revert = async () => {
    for (const step of undo.reverse()) await step();
  };
  try {
    for (const { knob, value } of variant.knobs(devices)) {
      const before = await knob.read();
      await knob.write(value);
      undo.push(() => knob.write(before));
    }
  } catch (error) {
    await revert();
    throw error;
  }
  return revert;
}

/** The uplinks of the hosts, the sandbox interfaces of the path, and their peers (found through the kernel's peer index). */
export async function pathDevices(hostNetns: readonly string[], uplink: string, path: OverlayPath, sandboxDevice: string): Promise<PathDevices> {
  const sandboxes = [path.near, path.far].map((end) => ({ netns: end.netns, name: sandboxDevice }));
  const peers = await Promise.all(sandboxes.map(vethPeer));
  return {
    uplinks: hostNetns.map((netns) => ({ netns, name: uplink })),
    veths: [...sandboxes, ...peers],
    bridgeNetns: [...new Set(peers.map((peer) => peer.netns))],
  };
}

async function vethPeer(device: Device): Promise<Device> {
  const [link] = JSON.parse(await ipIn(device.netns, '-j', 'link', 'show', 'dev', device.name)) as { link_index?: number; link_netnsid?: number }[];
  const ids = JSON.parse(await ipIn(device.netns, '-j', 'netns', 'list-id')) as { nsid: number; name?: string }[];
  const netns = ids.find((id) => id.nsid === link?.link_netnsid)?.name;
  if (link?.link_index === undefined || netns === undefined) throw new Error(`cannot find the peer of ${device.name} in ${device.netns}`);
  const links = JSON.parse(await ipIn(netns, '-j', 'link', 'show')) as { ifindex: number; ifname: string }[];
  const name = links.find((candidate) => candidate.ifindex === link.link_index)?.ifname;
  if (name === undefined) throw new Error(`no link ${link.link_index} in ${netns}, the peer of ${device.name} in ${device.netns}`);
  return { netns, name };
}
