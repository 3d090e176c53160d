import { EndpointView, NetworkView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { ReservedPort } from '../../proto/gen/trellis/v1/types';
import { cidrContains, formatCidr, parseCidr, parseIpv4 } from '../../proto/runtime/ipv4';
import { VXLAN_PORT } from '../../proto/runtime/reserved';
import {
  DesiredEndpoint,
  DesiredKernel,
  DesiredLocalBridge,
  DesiredNetwork,
  DesiredSandbox,
  EGRESS_INTERFACE,
  GATEWAY_BRIDGE,
  bridgeName,
  gatewayVethName,
  hostVethName,
  lanDeviceName,
  localBridgeName,
  networkNetnsName,
  networkNetnsPrefix,
  vxlanName,
} from '../kernel';
import { Attachment, isOverlay, localDefaultRoute } from './default-route';
import { LanHost, LanNetwork, NO_LAN_HOST, isLanDriver, lanEndpoint, lanNetworks, vlansOf } from './desired-lan';
import { allocateEgress } from './egress-addresses';
import { DEFAULT_GATEWAY_SUBNET, parseGatewaySubnet } from './gateway-subnet';
import { firewallOf } from './plan-firewall';
import { publishedPorts, reservedHostPorts } from './published-ports';
import { placeSandboxes } from './sandbox-placement';
import { isInterfaceName, isIpv4, isMac, isPlainName, isPrefixLength, isVni } from './validate';

export { DEFAULT_GATEWAY_SUBNET, VXLAN_PORT, parseGatewaySubnet };
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
  /** Sandboxes' egress addresses come from here; its first address is the host's, on the gateway bridge. */
  gatewaySubnet: string;
  /** Egress addresses sandboxes hold now, by namespace: kept across passes and restarts. */
  heldEgressAddresses: ReadonlyMap<string, string>;
  /** Ports of this node no sandbox may publish (besides the VXLAN port, always reserved). */
  reservedPorts?: readonly ReservedPort[];
  /** What macvlan and ipvlan networks may use here; none when not given. */
  lanHost?: LanHost;
}

export interface DesiredResult {
  kernel: DesiredKernel;
  /** Parts of the view that cannot be programmed, and why; everything else still is. */
  skipped: string[];
}

/** What desired() gives: also the endpoints of the view that a skipped part leaves unprogrammed. */
export interface DesiredViewResult extends DesiredResult {
  skippedEndpointIds: string[];
}

/** The kernel state a node view asks for. Pure. */
export function desired(view: NodeView, options: DesiredOptions): DesiredViewResult {
  if (!isInterfaceName(options.underlayDevice)) throw new Error(`invalid underlay device name "${options.underlayDevice}"`);
  if (!isPlainName(options.ownerTag)) throw new Error(`invalid owner tag "${options.ownerTag}"`);
  const gatewaySubnet = parseGatewaySubnet(options.gatewaySubnet);
  if (typeof gatewaySubnet === 'string') throw new Error(gatewaySubnet);
  const skipped: string[] = [];
  const skippedEndpointIds: string[] = [];
  const skipEndpoint = (endpoint: EndpointView, why: string): void => {
    skipped.push(`endpoint ${endpoint.id}: ${why}`);
    skippedEndpointIds.push(endpoint.id);
  };
  const defaultMtu = options.underlayMtu - VXLAN_OVERHEAD;
  // A network's own MTU is the user's explicit choice (e.g. to match jumbo frames end to end), so it wins over the default.
  const mtuOf = (network: NetworkView): number => network.mtu || defaultMtu;
  const requestedLocal = options.localAddress ?? view.advertiseAddr;
  // Without a source address the kernel picks one by route, which still works on a single underlay.
  const local = isIpv4(requestedLocal) ? requestedLocal : '';
  if (local !== requestedLocal) skipped.push(`local address "${requestedLocal}" is not IPv4; VXLAN devices get none`);
  const kernel = emptyKernel(options.ownerTag);

  const networks = new Map<string, { view: NetworkView; desired: DesiredNetwork; port: EndpointPort }>();
  const localBridges = new Map<string, { view: NetworkView; desired: DesiredLocalBridge; port: EndpointPort }>();
  const lans = lanNetworks(view.networks, options.lanHost ?? NO_LAN_HOST);
  kernel.vlans = vlansOf(lans.values());
  const vnis = new Set<number>();
  for (const network of view.networks) {
    if (isLanDriver(network.driver)) continue;
    if (network.driver === 'bridge') {
      const bridge = localBridgeOf(network, network.mtu || options.underlayMtu, skipped);
      if (bridge !== undefined && kernel.localBridges.some((other) => other.name === bridge.name)) {
        skipped.push(`network ${network.id}: its bridge ${bridge.name} is another network's (ids alike in their first characters)`);
      } else if (bridge !== undefined) {
        const port = { networkNetns: undefined, bridge: bridge.name, mtu: bridge.mtu, isolated: bridge.isolated };
        localBridges.set(network.id, { view: network, desired: bridge, port });
        kernel.localBridges.push(bridge);
      }
      continue;
    }
    if (!isVni(network.vni) || vnis.has(network.vni)) {
      skipped.push(`network ${network.id}: VNI ${network.vni} is invalid or already used`);
      continue;
    }
    vnis.add(network.vni);
    const bridge = bridgeName(network.vni);
    const mtu = mtuOf(network);
    const desiredNetwork: DesiredNetwork = {
      netns: networkNetnsName(options.ownerTag, network.vni),
      bridge: { name: bridge, mtu },
      vxlan: {
        name: vxlanName(network.vni), vni: network.vni, local, port: VXLAN_PORT,
        underlayDevice: options.underlayDevice, learning: false, proxy: true, mtu, bridge,
      },
      fdb: [],
      neighbours: [],
    };
    networks.set(network.id, { view: network, desired: desiredNetwork, port: { networkNetns: desiredNetwork.netns, bridge, mtu } });
    kernel.networks.push(desiredNetwork);
  }

  const { namespaces, bySandbox: sandboxNetns, problems } = placeSandboxes(view.sandboxes);
  skipped.push(...problems.map(({ sandboxId, problem }) => `sandbox ${sandboxId}: ${problem}`));

  const claimedAddresses = new Set<string>();
  const hostNames = new Set<string>();
  const sandboxInterfaces = new Set<string>();
  const sandboxAttachments = new Map<string, Attachment[]>();
  /** The veth each local bridge or overlay endpoint gets, by endpoint id: a bridge endpoint's published ports go on it. */
  const veths = new Map<string, DesiredEndpoint>();
  const viewNetworkIds = new Set(view.networks.map((network) => network.id));
  /** The namespace a local endpoint goes into, once its names are known to be free; undefined: skipped, saying why. */
  const placeLocal = (endpoint: EndpointView, hostName: string): string | undefined => {
    const placed = sandboxNetns.get(endpoint.sandboxId);
    const netns = placed?.netns;
    const interfaceKey = `${netns}/${endpoint.interfaceName}`;
    if (netns === undefined) {
      skipEndpoint(endpoint, `sandbox ${endpoint.sandboxId} is not hosted here`);
      return undefined;
    }
    if (placed?.mode === 'none' || placed?.mode === 'host') {
      // Docker's --network none | host: the agent puts no interface there.
      skipEndpoint(endpoint, `sandbox ${endpoint.sandboxId} is in network mode "${placed.mode}", which connects no network`);
      return undefined;
    }
    if (hostNames.has(hostName) || sandboxInterfaces.has(interfaceKey) || endpoint.interfaceName === EGRESS_INTERFACE) {
      skipEndpoint(endpoint, `${hostName} or ${interfaceKey} is already taken`);
      return undefined;
    }
    hostNames.add(hostName);
    sandboxInterfaces.add(interfaceKey);
    return netns;
  };
  /**
   * Claims an endpoint's IP and MAC in one address segment (an overlay's VNI, a bridge or LAN
   * network): two owners of one would make FDB and neighbour entries flap every pass.
   */
  const claimAddresses = (segment: string, networkId: string, endpoint: EndpointView): boolean => {
    const mac = endpoint.mac.toLowerCase();
    const keys = [`${segment} ${endpoint.ip}`, `${segment} ${mac}`];
    if (keys.some((key) => claimedAddresses.has(key))) {
      skipEndpoint(endpoint, `IP ${endpoint.ip} or MAC ${mac} is already used in network ${networkId}`);
      return false;
    }
    keys.forEach((key) => claimedAddresses.add(key));
    return true;
  };
  const attach = (endpoint: EndpointView, network: NetworkView): void => {
    const list = sandboxAttachments.get(endpoint.sandboxId) ?? [];
    list.push({ endpoint, network });
    sandboxAttachments.set(endpoint.sandboxId, list);
  };
  const addLanEndpoint = (endpoint: EndpointView, lan: LanNetwork): void => {
    if (lan.problem !== undefined) return skipEndpoint(endpoint, lan.problem);
    const problem = endpointProblem(endpoint, view.nodeId);
    if (problem !== undefined) return skipEndpoint(endpoint, problem);
    if (!claimAddresses(lan.view.id, lan.view.id, endpoint)) return;
    const netns = placeLocal(endpoint, lanDeviceName(endpoint.id));
    if (netns === undefined) return;
    kernel.lanEndpoints.push(lanEndpoint(endpoint, lan, netns));
    attach(endpoint, lan.view);
  };
  for (const endpoint of view.endpoints) {
    const lan = lans.get(endpoint.networkId);
    if (lan !== undefined) {
      // A LAN network is in its own node's view only: there are no remote endpoints to program.
      if (endpoint.nodeId === view.nodeId) addLanEndpoint(endpoint, lan);
      continue;
    }
    const overlay = networks.get(endpoint.networkId);
    const network = overlay ?? localBridges.get(endpoint.networkId);
    if (network === undefined) {
      // Its network was skipped (and said so): not programmed. One of a network the node does not
      // host (a backend of an ingress service, held for the routing mesh) is nothing to program here.
      if (viewNetworkIds.has(endpoint.networkId)) skippedEndpointIds.push(endpoint.id);
      continue;
    }
    const problem = endpointProblem(endpoint, view.nodeId);
    if (problem !== undefined) {
      skipEndpoint(endpoint, problem);
      continue;
    }
    const segment = overlay === undefined ? `bridge ${network.view.id}` : `${network.view.vni}`;
    if (!claimAddresses(segment, network.view.id, endpoint)) continue;
    const mac = endpoint.mac.toLowerCase();
    if (endpoint.nodeId !== view.nodeId) {
      // A bridge network is local to its node: another node's endpoint on it is nothing to program here.
      if (overlay === undefined) continue;
      if (!isIpv4(endpoint.vtep)) {
        skipEndpoint(endpoint, `VTEP "${endpoint.vtep}" is not an IPv4 address`);
        continue;
      }
      const device = overlay.desired.vxlan.name;
      overlay.desired.fdb.push({ device, mac, dst: endpoint.vtep });
      overlay.desired.neighbours.push({ device, ip: endpoint.ip, mac });
      continue;
    }
    const netns = placeLocal(endpoint, hostVethName(endpoint.id));
    if (netns !== undefined) {
      const veth = localEndpoint(endpoint, network.port, netns);
      kernel.endpoints.push(veth);
      veths.set(endpoint.id, veth);
      attach(endpoint, network.view);
    }
  }

  // Only sandboxes on a non-internal network get a way out (Docker: --internal has no gateway); an
  // adopted namespace's way out is its maker's business (it usually has its own default route).
  // One whose local network gives it a default route needs the gateway bridge only to publish ports
  // of its overlay endpoints. A shared namespace's interfaces are its sandboxes' together (only one
  // of them connects networks).
  const ways = [...namespaces].map(([netns, { origin, sandboxIds }]) => {
    const attachments = sandboxIds.flatMap((sandboxId) => sandboxAttachments.get(sandboxId) ?? []);
    const publishesOverlayPorts = attachments.some(({ endpoint, network }) => isOverlay(network) && endpoint.publishedPorts.length > 0);
    return { netns, origin, sandboxIds, attachments, localRoute: localDefaultRoute(attachments), publishesOverlayPorts };
  });
  const egressWanted = ways
    .filter(({ origin, attachments, localRoute, publishesOverlayPorts }) => origin.kind === 'created'
      && attachments.some(({ network }) => isOverlay(network) && !network.internal)
      && (localRoute === undefined || publishesOverlayPorts))
    .map(({ netns }) => netns)
    .sort();
  const egress = allocateEgress(gatewaySubnet, egressWanted, options.heldEgressAddresses);
  const wantsEgress = new Set(egressWanted);
  const gatewayAddress = (ip: string) => `${ip}/${gatewaySubnet.prefixLength}`;
  const claimedHostPorts = new Set<string>();
  const reservedPorts = reservedHostPorts(options.reservedPorts ?? []);
  for (const { netns, origin, sandboxIds, attachments, localRoute, publishesOverlayPorts } of ways) {
    // The sandbox that connects networks names the namespace's gateway veth and its problems.
    const sandboxId = sandboxIds.find((id) => sandboxAttachments.has(id)) ?? sandboxIds[0] ?? netns;
    const address = egress.sandboxes.get(netns);
    if (wantsEgress.has(netns) && address === undefined) {
      skipped.push(`sandbox ${sandboxId}: gateway subnet ${options.gatewaySubnet} is full; it gets no egress`);
    }
    // A LAN endpoint is on the LAN at its own address: nothing is published to it.
    const lanPublished = attachments.filter(({ endpoint, network }) => isLanDriver(network.driver) && endpoint.publishedPorts.length > 0);
    skipped.push(...lanPublished.map(({ endpoint, network }) => `endpoint ${endpoint.id}: ports are not published on ${network.name}, a LAN network: the sandbox answers at ${endpoint.ip}`));
    const overlays = attachments.filter(({ network }) => isOverlay(network));
    const published = publishedPorts(overlays.map(({ endpoint }) => endpoint), address !== undefined, claimedHostPorts, reservedPorts);
    skipped.push(...published.skipped.map((problem) => `sandbox ${sandboxId}: ${problem}`));
    for (const { endpoint, network } of attachments.filter((attachment) => attachment.network.driver === 'bridge')) {
      const bridged = publishedPorts([endpoint], !network.internal, claimedHostPorts, reservedPorts);
      skipped.push(...bridged.skipped.map((problem) => `sandbox ${sandboxId}: ${problem}`));
      const veth = veths.get(endpoint.id);
      if (veth !== undefined && bridged.rules.length > 0) veth.published = bridged.rules;
    }
    const gatewayRoute = address === undefined ? undefined : { gateway: egress.gateway, device: EGRESS_INTERFACE };
    const sandbox: DesiredSandbox = {
      netns,
      origin,
      // Replies to a port published through gw0 must leave by gw0: such a sandbox keeps its default
      // route there even when a local network could give it one.
      defaultRoute: publishesOverlayPorts && gatewayRoute !== undefined ? gatewayRoute : localRoute ?? gatewayRoute,
      egress: address === undefined ? undefined : {
        hostName: gatewayVethName(sandboxId),
        interfaceName: EGRESS_INTERFACE,
        address: gatewayAddress(address),
        mtu: options.underlayMtu,
        published: published.rules,
      },
    };
    kernel.sandboxes.push(sandbox);
  }
  if (kernel.sandboxes.some((sandbox) => sandbox.egress !== undefined)) {
    kernel.gateway = {
      bridge: GATEWAY_BRIDGE,
      address: gatewayAddress(egress.gateway),
      subnet: formatCidr(gatewaySubnet),
      mtu: options.underlayMtu,
    };
  }
  kernel.isolatedSubnets = isolatedSubnets(view, skipped);
  kernel.firewall = firewallOf(kernel, formatCidr(gatewaySubnet));
  return { kernel, skipped, skippedEndpointIds };
}

/** Every overlay subnet of the cluster: nothing from the gateway bridge or a bridge network may reach one. */
function isolatedSubnets(view: NodeView, skipped: string[]): string[] {
  const subnets = new Set<string>();
  // A LAN network's subnet is the physical LAN's: isolating the gateway bridge from it would cut egress.
  for (const text of [...view.overlaySubnets, ...view.networks.filter(isOverlay).map((network) => network.subnet)]) {
    const parsed = parseCidr(text);
    if (parsed.ok) subnets.add(formatCidr(parsed.cidr));
    else skipped.push(`overlay subnet "${text}" is not an IPv4 CIDR; it is not isolated from the gateway bridge`);
  }
  return [...subnets].sort();
}

function endpointProblem(endpoint: EndpointView, nodeId: string): string | undefined {
  if (!isIpv4(endpoint.ip)) return `IP "${endpoint.ip}" is not an IPv4 address`;
  if (!isPrefixLength(endpoint.prefixLength)) return `prefix length ${endpoint.prefixLength} is invalid`;
  if (!isMac(endpoint.mac.toLowerCase())) return `MAC "${endpoint.mac}" is invalid`;
  // Only a local endpoint has an interface here; a remote one learned from gossip carries none.
  if (endpoint.nodeId === nodeId && !isInterfaceName(endpoint.interfaceName)) return `interface name "${endpoint.interfaceName}" is invalid`;
  if (!isPlainName(endpoint.id)) return 'id is not a plain name';
  return undefined;
}

/**
 * A bridge network's bridge: the gateway of every subnet (an older manager sends none but the
 * first, as subnet and gateway). A subnet that is not an IPv4 CIDR with its gateway inside is
 * skipped, said so; a network left with none is.
 */
function localBridgeOf(network: NetworkView, mtu: number, skipped: string[]): DesiredLocalBridge | undefined {
  const given = network.subnets.length > 0 ? network.subnets : [{ subnet: network.subnet, gateway: network.gateway }];
  const subnets: string[] = [];
  const addresses: string[] = [];
  for (const { subnet, gateway } of given) {
    const parsed = parseCidr(subnet);
    const address = parseIpv4(gateway);
    if (!parsed.ok || address === undefined || !cidrContains(parsed.cidr, address)) {
      skipped.push(`network ${network.id}: subnet "${subnet}" with gateway "${gateway}" is not an IPv4 subnet holding its gateway; not on its bridge`);
      continue;
    }
    subnets.push(formatCidr(parsed.cidr));
    addresses.push(`${gateway}/${parsed.cidr.prefixLength}`);
  }
  if (subnets.length === 0) {
    skipped.push(`network ${network.id}: no subnet to put on its bridge`);
    return undefined;
  }
  return { name: localBridgeName(network.id), mtu, addresses, subnets, internal: network.internal, isolated: network.isolateSandboxes };
}

/** Where a local endpoint's host end goes: a network namespace's bridge (overlay) or the host's (bridge network). */
interface EndpointPort {
  networkNetns: string | undefined;
  bridge: string;
  mtu: number;
  isolated?: boolean;
}

function localEndpoint(endpoint: EndpointView, port: EndpointPort, netns: string): DesiredEndpoint {
  return {
    hostName: hostVethName(endpoint.id),
    ...port,
    netns,
    interfaceName: endpoint.interfaceName,
    mac: endpoint.mac.toLowerCase(),
    address: `${endpoint.ip}/${endpoint.prefixLength}`,
    arpRetransMs: SANDBOX_ARP_RETRANS_MS,
  };
}

/** A kernel with nothing of ours in it: what removeAll() converges to. */
export function emptyKernel(ownerTag: string): DesiredKernel {
  return {
    ownerTag,
    networkNetnsPrefix: networkNetnsPrefix(ownerTag),
    networks: [],
    sandboxes: [],
    endpoints: [],
    lanEndpoints: [],
    vlans: [],
    localBridges: [],
    gateway: undefined,
    isolatedSubnets: [],
    firewall: undefined,
  };
}
