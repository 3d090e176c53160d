/**
 * What belongs to Trellis itself on every node, so that no user object may take it: the VXLAN
 * port and the network namespace prefixes of the agents and of the lab. Here, beside the other
 * runtime pieces both sides share, because the manager refuses them in requests and the agent
 * refuses them again in what it programs, and the two never import each other.
 */

import { AGENT_DHT_PORT, DHT_PROTOCOL, MANAGER_DHT_PORT } from './dht/ports';

/** IANA's VXLAN port; every agent's VXLAN devices send and receive on it (not configurable). */
export const VXLAN_PORT = 4789;
export const VXLAN_PROTOCOL = 'udp';

/** A port Trellis uses on every node, with what uses it (completes "4789/udp is …"). */
export interface ClusterPort {
  protocol: 'udp';
  port: number;
  is: string;
}

/**
 * What no sandbox may publish on any node: the VXLAN port and the gossip DHT's ports (a DNAT of
 * one would pull the overlay's or the gossip's traffic into a sandbox). The managers' DHT port is
 * refused on every node like the managers' other ports: which nodes share a host with a manager is
 * not known.
 */
export const CLUSTER_PORTS: readonly ClusterPort[] = [
  { protocol: VXLAN_PROTOCOL, port: VXLAN_PORT, is: "the VXLAN port of this cluster (every node's overlay traffic arrives on it)" },
  { protocol: DHT_PROTOCOL, port: MANAGER_DHT_PORT, is: "the gossip DHT port of this cluster's managers (their bootstrap nodes listen on it)" },
  { protocol: DHT_PROTOCOL, port: AGENT_DHT_PORT, is: "the gossip DHT port of this cluster's agents (every node's gossip node listens on it)" },
];

/** The namespaces an agent creates for its sandboxes (and attaches adopted processes' namespaces as). */
export const SANDBOX_NETNS_PREFIX = 'trsb-';
/** The namespaces an agent creates for each network (bridge and VXLAN device). */
export const NETWORK_NETNS_PREFIX = 'trnw-';
/** The lab's hosts (`trlab-m1`, `trlab-a1`, `trlab-underlay`): each one plays a whole machine. */
export const LAB_NETNS_PREFIX = 'trlab-';

/** Every namespace name prefix Trellis owns, with who owns it: adopting one would make its owner fight the adopter. */
export const OWNED_NETNS_PREFIXES: readonly { prefix: string; owner: string }[] = [
  { prefix: SANDBOX_NETNS_PREFIX, owner: "an agent's own sandbox namespace" },
  { prefix: NETWORK_NETNS_PREFIX, owner: "an agent's network namespace (bridge and VXLAN device)" },
  { prefix: LAB_NETNS_PREFIX, owner: "one of the lab's hosts" },
];

/** Who owns a namespace of this name, or undefined when it is not Trellis's. */
export function netnsOwner(name: string): { prefix: string; owner: string } | undefined {
  return OWNED_NETNS_PREFIXES.find(({ prefix }) => name.startsWith(prefix));
}
