/** A host port forwarded to a sandbox's gateway-bridge address, like `docker run -p hostPort:port/protocol`. */
export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  /** The sandbox's address on the gateway bridge. */
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
}
