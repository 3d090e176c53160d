import { EndpointView, NetworkView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import {
  DefaultRoute,
  DesiredEndpoint,
  DesiredKernel,
  NetnsOrigin,
  bridgeName,
  hostVethName,
  vxlanName,
} from '../kernel';
import { placeSandbox } from './sandbox-placement';
import { isInterfaceName, isIpv4, isMac, isPlainName, isPrefixLength, isVni } from './validate';

export const VXLAN_PORT = 4789;
/** Outer Ethernet is not counted in MTU: IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;
/**
 * ARP retry interval of every sandbox interface (kernel default 1000 ms). A sandbox that asks for
 * an endpoint before its neighbour entry is programmed gets no answer and, by default, asks again
 * only a second later. 20 ms is safe here: every ARP request from a sandbox is answered on the same
 * host — by the VXLAN device's proxy from the neighbour table the agent programs, or by a local
 * sandbox on the same bridge — so a fast retry costs no wire traffic and only shortens the time
 * until an endpoint added after the first attempt is reachable. The kernel keeps it in jiffies; 20 ms
 * is a whole number of them at HZ 100, 250, 300 and 1000, so it reads back unchanged and a converged
 * pass writes nothing.
 */
export const SANDBOX_ARP_RETRANS_MS = 20;

export interface DesiredOptions {
  underlayDevice: string;
  underlayMtu: number;
  /** Source address of VXLAN packets; the view's advertise address when not given. */
  localAddress?: string;
  ownerTag: string;
}

export interface DesiredResult {
  kernel: DesiredKernel;
  /** Parts of the view that cannot be programmed, and why; everything else still is. */
  skipped: string[];
}

/** The kernel state a node view asks for. Pure. */
export function desired(view: NodeView, options: DesiredOptions): DesiredResult {
  if (!isInterfaceName(options.underlayDevice)) throw new Error(`invalid underlay device name "${options.underlayDevice}"`);
  if (!isPlainName(options.ownerTag)) throw new Error(`invalid owner tag "${options.ownerTag}"`);
  const skipped: string[] = [];
  const defaultMtu = options.underlayMtu - VXLAN_OVERHEAD;
  // A network's own MTU is the user's explicit choice (e.g. to match jumbo frames end to end), so it wins over the default.
  const mtuOf = (network: NetworkView): number => network.mtu || defaultMtu;
  const requestedLocal = options.localAddress ?? view.advertiseAddr;
  // Without a source address the kernel picks one by route, which still works on a single underlay.
  const local = isIpv4(requestedLocal) ? requestedLocal : '';
  if (local !== requestedLocal) skipped.push(`local address "${requestedLocal}" is not IPv4; VXLAN devices get none`);
  const kernel = emptyKernel(options.ownerTag);

  const networks = new Map<string, NetworkView>();
  const vnis = new Set<number>();
  for (const network of view.networks) {
    if (!isVni(network.vni) || vnis.has(network.vni)) {
      skipped.push(`network ${network.id}: VNI ${network.vni} is invalid or already used`);
      continue;
    }
    vnis.add(network.vni);
    networks.set(network.id, network);
    const bridge = bridgeName(network.vni);
    const mtu = mtuOf(network);
    kernel.bridges.push({ name: bridge, mtu });
    kernel.vxlans.push({
      name: vxlanName(network.vni),
      vni: network.vni,
      local,
      port: VXLAN_PORT,
      underlayDevice: options.underlayDevice,
      learning: false,
      proxy: true,
      mtu,
      bridge,
    });
  }

  const sandboxNetns = new Map<string, { netns: string; origin: NetnsOrigin }>();
  const usedNetns = new Set<string>();
  for (const sandbox of view.sandboxes) {
    const placement = placeSandbox(sandbox);
    if ('problem' in placement) {
      skipped.push(`sandbox ${sandbox.id}: ${placement.problem}`);
    } else if (usedNetns.has(placement.netns)) {
      // Two sandboxes in one namespace would fight over its interfaces and default route.
      skipped.push(`sandbox ${sandbox.id}: namespace ${placement.netns} already belongs to another sandbox`);
    } else {
      usedNetns.add(placement.netns);
      sandboxNetns.set(sandbox.id, placement);
    }
  }

  const claimedAddresses = new Set<string>();
  const hostNames = new Set<string>();
  const sandboxInterfaces = new Set<string>();
  const sandboxEndpoints = new Map<string, { endpoint: EndpointView; network: NetworkView }[]>();
  for (const endpoint of view.endpoints) {
    const network = networks.get(endpoint.networkId);
    if (network === undefined) continue;
    const problem = endpointProblem(endpoint);
    if (problem !== undefined) {
      skipped.push(`endpoint ${endpoint.id}: ${problem}`);
      continue;
    }
    const mac = endpoint.mac.toLowerCase();
    // Two owners of one IP or MAC in a network would make FDB and neighbour entries flap every pass.
    const addressKeys = [`${network.vni} ${endpoint.ip}`, `${network.vni} ${mac}`];
    if (addressKeys.some((key) => claimedAddresses.has(key))) {
      skipped.push(`endpoint ${endpoint.id}: IP ${endpoint.ip} or MAC ${mac} is already used in network ${network.id}`);
      continue;
    }
    addressKeys.forEach((key) => claimedAddresses.add(key));
    if (endpoint.nodeId !== view.nodeId) {
      if (!isIpv4(endpoint.vtep)) {
        skipped.push(`endpoint ${endpoint.id}: VTEP "${endpoint.vtep}" is not an IPv4 address`);
        continue;
      }
      const device = vxlanName(network.vni);
      kernel.fdb.push({ device, mac, dst: endpoint.vtep });
      kernel.neighbours.push({ device, ip: endpoint.ip, mac });
      continue;
    }
    const netns = sandboxNetns.get(endpoint.sandboxId)?.netns;
    const hostName = hostVethName(endpoint.id);
    const interfaceKey = `${netns}/${endpoint.interfaceName}`;
    if (netns === undefined) {
      skipped.push(`endpoint ${endpoint.id}: sandbox ${endpoint.sandboxId} is not hosted here`);
    } else if (hostNames.has(hostName) || sandboxInterfaces.has(interfaceKey)) {
      skipped.push(`endpoint ${endpoint.id}: ${hostName} or ${interfaceKey} is already taken`);
    } else {
      hostNames.add(hostName);
      sandboxInterfaces.add(interfaceKey);
      kernel.endpoints.push(localEndpoint(endpoint, network, netns, mtuOf(network)));
      const list = sandboxEndpoints.get(endpoint.sandboxId) ?? [];
      list.push({ endpoint, network });
      sandboxEndpoints.set(endpoint.sandboxId, list);
    }
  }

  for (const [sandboxId, { netns, origin }] of sandboxNetns) {
    kernel.sandboxes.push({ netns, origin, defaultRoute: defaultRoute(sandboxEndpoints.get(sandboxId) ?? []) });
  }
  return { kernel, skipped };
}

function endpointProblem(endpoint: EndpointView): string | undefined {
  if (!isIpv4(endpoint.ip)) return `IP "${endpoint.ip}" is not an IPv4 address`;
  if (!isPrefixLength(endpoint.prefixLength)) return `prefix length ${endpoint.prefixLength} is invalid`;
  if (!isMac(endpoint.mac.toLowerCase())) return `MAC "${endpoint.mac}" is invalid`;
  if (!isInterfaceName(endpoint.interfaceName)) return `interface name "${endpoint.interfaceName}" is invalid`;
  if (!isPlainName(endpoint.id)) return 'id is not a plain name';
  return undefined;
}

function localEndpoint(endpoint: EndpointView, network: NetworkView, netns: string, mtu: number): DesiredEndpoint {
  return {
    hostName: hostVethName(endpoint.id),
    bridge: bridgeName(network.vni),
    mtu,
    netns,
    interfaceName: endpoint.interfaceName,
    mac: endpoint.mac.toLowerCase(),
    address: `${endpoint.ip}/${endpoint.prefixLength}`,
    arpRetransMs: SANDBOX_ARP_RETRANS_MS,
  };
}

/** The sandbox's first network (by interface name: eth0 before eth1 before eth10) routes the rest. */
function defaultRoute(attached: { endpoint: EndpointView; network: NetworkView }[]): DefaultRoute | undefined {
  const first = [...attached].sort((a, b) =>
    a.endpoint.interfaceName.localeCompare(b.endpoint.interfaceName, 'en', { numeric: true }),
  )[0];
  if (first === undefined || !isIpv4(first.network.gateway)) return undefined;
  return { gateway: first.network.gateway, device: first.endpoint.interfaceName };
}

/** A kernel with nothing of ours in it: what removeAll() converges to. */
export function emptyKernel(ownerTag: string): DesiredKernel {
  return { ownerTag, bridges: [], vxlans: [], sandboxes: [], endpoints: [], fdb: [], neighbours: [] };
}
