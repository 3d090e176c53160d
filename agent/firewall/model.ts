/** A host port forwarded to a sandbox, like `docker run -p hostPort:port/protocol`. */
export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  /** The sandbox's address on the gateway bridge, or a bridge network endpoint's own address. */
  address: string;
  port: number;
}

/** Everything the agent's own nftables table (family ip) must contain on this host. */
export interface DesiredFirewall {
  /** The nft table name; the agent owns the whole table and replaces it atomically. */
  table: string;
  /** The bridge holding the host's gateway address, e.g. 'trellis_gw'. */
  gatewayBridge: string;
  /** e.g. '172.29.0.0/16': sandboxes' second interfaces draw their addresses from it. */
  gatewaySubnet: string;
  /** Overlay subnets ("a.b.c.d/len") that gateway-bridge traffic must never be routed to; may be empty. */
  isolatedSubnets: string[];
  published: PublishedPort[];
  /** Bridge networks' bridges in the host namespace; may be empty. */
  localBridges: LocalBridgeRules[];
}

/** What the firewall does for one bridge network. */
export interface LocalBridgeRules {
  bridge: string;
  /** Masqueraded on their way out (unless internal). */
  subnets: string[];
  /** --internal: nothing forwarded out nor in, published ports included. */
  internal: boolean;
  /** icc=false: nothing routed from the bridge back onto it, but for published ports. */
  isolated: boolean;
}
