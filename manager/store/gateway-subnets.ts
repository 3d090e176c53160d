import { cidrsOverlap, formatCidr, type Cidr } from '../../proto/runtime/ipv4';
import { fail, ok, type Result } from './errors';
import { storedCidr, type IpamRecord, type StoreState } from './state';

/*
 * Each agent hands its sandboxes' way out (the trellis_gw bridge) addresses from its gateway
 * subnet, and routes that subnet locally: an overlay network overlapping any node's gateway
 * subnet would have addresses that node's sandboxes cannot reach. So networks and gateway
 * subnets are kept apart in both directions: networks are checked against registered nodes,
 * and a registering node against existing networks (nodes.ts).
 */

/** The first subnet overlapping `subnet` of a network node `nodeId` may program: an overlay one, or one local to that node. */
export function networkOverlapping(state: StoreState, subnet: Cidr, nodeId: string): { network: string; subnet: string } | undefined {
  for (const network of state.networks.values()) {
    if (network.nodeId !== undefined && network.nodeId !== nodeId) continue;
    const config = network.ipam.find((entry) => cidrsOverlap(storedCidr(entry.subnet), subnet));
    if (config !== undefined) return { network: network.name, subnet: config.subnet };
  }
  return undefined;
}

/** Every registered node's gateway subnet: the default address pools skip them too. */
export function gatewaySubnets(state: StoreState): Cidr[] {
  const subnets: Cidr[] = [];
  for (const node of state.nodes.values()) if (node.gatewaySubnet !== undefined) subnets.push(storedCidr(node.gatewaySubnet));
  return subnets;
}

/**
 * Refuses a new network's subnets when one overlaps the gateway subnet of a node that may program it
 * (every node for an overlay network, its own node for a local one, `nodeId`); `field` is where the subnets came from.
 */
export function refuseGatewayOverlap(state: StoreState, field: string, ipam: readonly IpamRecord[], nodeId: string | undefined): Result<void> {
  for (const node of state.nodes.values()) {
    if (node.gatewaySubnet === undefined || (nodeId !== undefined && node.id !== nodeId)) continue;
    const gateway = storedCidr(node.gatewaySubnet);
    const clash = ipam.find((entry) => cidrsOverlap(storedCidr(entry.subnet), gateway));
    if (clash === undefined) continue;
    return fail(
      'INVALID_ARGUMENT',
      field,
      `${field}: ${clash.subnet} overlaps ${formatCidr(gateway)}, the gateway subnet of node "${node.name}" (its sandboxes' way out); give a subnet outside it`,
    );
  }
  return ok(undefined);
}
