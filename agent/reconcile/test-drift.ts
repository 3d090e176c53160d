import fc from 'fast-check';
import { FIREWALL_TABLE, NETWORK_NETNS_PREFIX, ObservedKernel, ObservedLink, ObservedNetwork, isOwnedLinkName } from '../kernel';
import { HOST_NETNS, MemoryKernel } from '../kernel/memory-kernel';
import { isHostNamespace } from './plan-sandbox';

/**
 * Drift for property tests on MemoryKernel: what an operator or another program could do to a
 * converged node. A drift is drawn as numbers and resolved against what the kernel holds when it
 * is applied, so it always hits something that is there.
 */

const DRIFT_KINDS = [
  'deleteLink', 'setMtu', 'setDown', 'setMac', 'setAlias', 'nomaster', 'unisolate', 'detachAddress', 'strayAddress',
  'deleteDefaultRoute', 'removeFdb', 'strayFdb', 'removeNeighbour', 'strayNeighbour', 'deleteNamespace',
  'breakNamespace', 'bridgeNetfilterOn', 'ipForwardingOff', 'deleteFirewallRule', 'deleteFirewall', 'arpRetrans', 'strayLink',
  'processExits',
] as const;

export interface Drift {
  kind: (typeof DRIFT_KINDS)[number];
  pick: number;
}

export const arbitraryDrift: fc.Arbitrary<Drift> = fc.record({ kind: fc.constantFrom(...DRIFT_KINDS), pick: fc.nat() });

interface Placed {
  netns: string;
  link: ObservedLink;
}

function pickFrom<T>(items: readonly T[], pick: number): T | undefined {
  return items.length === 0 ? undefined : items[pick % items.length];
}

/**
 * What can be drifted: the agent's host links, everything in its network namespaces, every sandbox
 * link but those of the host's namespace under a host-mode sandbox's name (the host's, as above).
 */
function placedLinks(observed: ObservedKernel): Placed[] {
  return [
    ...observed.hostLinks.filter((link) => isOwnedLinkName(link.name)).map((link) => ({ netns: HOST_NETNS, link })),
    ...observed.networks.flatMap((network) => network.links.filter((link) => link.name !== 'lo').map((link) => ({ netns: network.netns, link }))),
    ...observed.sandboxes
      .filter((sandbox) => !isHostNamespace(sandbox, observed.hostLinks))
      .flatMap((sandbox) => sandbox.links.map((link) => ({ netns: sandbox.netns, link }))),
  ];
}

/** Applies `drift` to what `observed` (just read from `kernel`) holds; returns what it did, or undefined when there was nothing to hit. */
export function applyDrift(kernel: MemoryKernel, observed: ObservedKernel, drift: Drift): string | undefined {
  const { drift: change } = kernel;
  const { pick } = drift;
  const links = placedLinks(observed);
  const on = (filter: (placed: Placed) => boolean, act: (placed: Placed) => void): string | undefined => {
    const target = pickFrom(links.filter(filter), pick);
    if (target === undefined) return undefined;
    act(target);
    return `${drift.kind} ${target.netns || 'host'}/${target.link.name}`;
  };
  const networks = observed.networks;
  /** On a network's VXLAN device: an entry of `entries` to remove (removeX needs one), or a stray to add. */
  const onVxlan = <T>(
    { kind }: Drift,
    entries: (network: ObservedNetwork) => T[],
    act: (network: ObservedNetwork, vxlan: string, entry: T | undefined) => void,
  ): string | undefined => {
    const network = pickFrom(networks.filter((candidate) => kind.startsWith('stray') || entries(candidate).length > 0), pick);
    const vxlan = network?.links.find((link) => link.kind === 'vxlan');
    if (network === undefined || vxlan === undefined) return undefined;
    act(network, vxlan.name, pickFrom(entries(network), pick));
    return `${kind} ${network.netns}`;
  };
  // Every name read: ours, and the runtime's that sandboxes adopt (a container that went away).
  const namespaces = [...observed.sandboxes.map((sandbox) => sandbox.netns), ...networks.map((network) => network.netns)];
  switch (drift.kind) {
    case 'deleteLink':
      return on(({ link }) => link.name !== 'lo', ({ netns, link }) => change.deleteLink(netns, link.name));
    case 'setMtu':
      return on(({ link }) => link.name !== 'lo' && link.kind !== 'vxlan', ({ netns, link }) => change.setMtu(netns, link.name, 1300));
    case 'setDown':
      return on(({ link }) => link.up, ({ netns, link }) => change.setDown(netns, link.name));
    case 'setMac':
      return on(({ link }) => link.kind === 'veth', ({ netns, link }) => change.setMac(netns, link.name, '02:99:00:00:00:01'));
    case 'setAlias':
      return on(({ link }) => link.alias !== undefined, ({ netns, link }) => change.setAlias(netns, link.name, undefined));
    case 'nomaster':
      return on(({ link }) => link.master !== undefined, ({ netns, link }) => change.setMaster(netns, link.name, undefined));
    case 'unisolate':
      return on(({ link }) => link.isolated === true, ({ netns, link }) => change.setIsolated(netns, link.name, false));
    case 'detachAddress':
      return on(({ link }) => link.addresses.length > 0 && link.name !== 'lo', ({ netns, link }) => change.detachAddress(netns, link.name, link.addresses[0] ?? ''));
    case 'strayAddress':
      return on(({ netns, link }) => netns.startsWith('trsb-') && link.kind === 'veth', ({ netns, link }) => change.addAddress(netns, link.name, '192.0.2.77/24'));
    case 'arpRetrans':
      return on(({ link }) => link.arpRetransMs !== undefined && link.name !== 'lo', ({ netns, link }) => change.setArpRetrans(netns, link.name, 1000));
    case 'deleteDefaultRoute': {
      const sandbox = pickFrom(observed.sandboxes.filter((candidate) => candidate.defaultRoute !== undefined), pick);
      sandbox && change.deleteDefaultRoute(sandbox.netns);
      return sandbox && `${drift.kind} ${sandbox.netns}`;
    }
    case 'removeFdb':
    case 'strayFdb':
      return onVxlan(drift, (network) => network.fdb, (network, vxlan, entry) => {
        if (drift.kind === 'removeFdb' && entry !== undefined) change.removeFdb(network.netns, entry.device, entry.mac);
        else change.addStrayFdb(network.netns, { device: vxlan, mac: entry?.mac ?? '02:99:00:00:00:02', dst: '198.18.0.99', permanent: pick % 2 === 0 });
      });
    case 'removeNeighbour':
    case 'strayNeighbour':
      return onVxlan(drift, (network) => network.neighbours, (network, vxlan, entry) => {
        if (drift.kind === 'removeNeighbour' && entry !== undefined) change.removeNeighbour(network.netns, entry.device, entry.ip);
        else change.addStrayNeighbour(network.netns, { device: vxlan, ip: entry?.ip ?? '10.231.0.99', mac: '02:99:00:00:00:03', permanent: pick % 2 === 0 });
      });
    case 'deleteNamespace':
    case 'breakNamespace': {
      const netns = pickFrom(namespaces, pick);
      if (netns === undefined) return undefined;
      if (drift.kind === 'deleteNamespace') change.deleteNamespace(netns);
      else change.breakNamespace(netns);
      return `${drift.kind} ${netns}`;
    }
    case 'bridgeNetfilterOn': {
      const network = pickFrom(networks, pick);
      network && change.setBridgeNetfilter(network.netns, true);
      return network && `${drift.kind} ${network.netns}`;
    }
    case 'ipForwardingOff':
      change.setIpForwarding(false);
      return drift.kind;
    case 'deleteFirewallRule': {
      const fragment = pick % 2 === 0 ? 'masquerade' : 'drop';
      if (!observed.firewall?.includes(fragment)) return undefined;
      change.deleteFirewallRule(FIREWALL_TABLE, fragment);
      return drift.kind;
    }
    case 'deleteFirewall':
      change.setFirewall(FIREWALL_TABLE, undefined);
      return drift.kind;
    case 'processExits': {
      const pid = pickFrom(kernel.processIds(), pick);
      pid === undefined || kernel.killProcess(pid);
      return pid === undefined ? undefined : `${drift.kind} ${pid}`;
    }
    case 'strayLink': {
      const targets = [HOST_NETNS, ...namespaces];
      const netns = pickFrom(targets, pick) ?? HOST_NETNS;
      const name = netns === HOST_NETNS ? 'trvx-999' : netns.startsWith(NETWORK_NETNS_PREFIX) ? 'trve-stray' : 'eth7';
      if (placedLinks(observed).some((placed) => placed.netns === netns && placed.link.name === name)) return undefined;
      change.addLink(netns, name, netns === HOST_NETNS ? 'dummy' : 'veth');
      return `${drift.kind} ${netns || 'host'}/${name}`;
    }
  }
}
