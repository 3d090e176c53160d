import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';

/**
 * Where every sandbox finds the cluster's resolver: its own loopback, as Docker's 127.0.0.11.
 * Every namespace has `lo` whatever networks it is on (`--internal` ones included), so no route,
 * no gateway and no address of any subnet is needed; the agent opens the sockets inside each
 * namespace, so the socket a query arrives on says which namespace asks, whatever its source.
 */
export const RESOLVER_ADDRESS = '127.0.0.11';
export const RESOLVER_PORT = 53;

/** Which sandboxes ask: those whose namespace is `netnsName` (/run/netns/NAME), one or more. */
export interface Asker {
  netnsName: string;
}

export type DnsTransport = 'udp' | 'tcp';

/** The outcome of a query, as the metrics count it. */
export type DnsResult = 'answer' | 'nodata' | 'nxdomain' | 'forwarded' | 'servfail' | 'refused' | 'formerr';

/** The resolver's figures: queries by type and result, upstream failures, time to answer. */
export interface DnsMetrics {
  query(type: string, result: DnsResult, seconds: number): void;
  upstreamFailure(upstream: string): void;
}

/**
 * The agent's resolver: answers each namespace with what it may see. The server (sockets in
 * every sandbox namespace) hands it raw queries and sends back what it returns.
 */
export interface Resolver {
  /** What to answer from, replaced after every reconcile pass and on every readiness change. */
  update(view: NodeView, ready: ReadonlySet<string>): void;
  /**
   * The reply to one DNS message (wire format, without TCP's length prefix), or undefined when
   * nothing should be sent (not a query). Never rejects: an upstream that fails gives SERVFAIL.
   * Over UDP a reply larger than the asker allows is truncated (TC set) so it retries over TCP.
   */
  respond(query: Buffer, asker: Asker, transport: DnsTransport): Promise<Buffer | undefined>;
}

export interface ResolverOptions {
  /** The host's own resolvers (its /etc/resolv.conf): the upstreams of sandboxes that gave no --dns. */
  hostResolvers: string[];
  /** How long an upstream gets before the next one is tried, and SERVFAIL after the last. */
  upstreamTimeoutMs: number;
  metrics?: DnsMetrics;
  /**
   * How a forwarded query reaches an upstream; by default from the agent's own namespace (where
   * the host's resolvers, 127.0.0.53 included, are reachable). A server may send a sandbox's
   * --dns queries from inside that sandbox's namespace instead, as Docker does.
   */
  exchange?: UpstreamExchange;
}

/** One upstream resolver: a sandbox's --dns server ('sandbox') or one of the host's ('host'). */
export interface Upstream {
  address: string;
  port: number;
  origin: 'sandbox' | 'host';
}

export interface UpstreamExchange {
  /**
   * The upstream's reply to `query` (sent as it is, the client's id included), or a rejection
   * when it fails or `timeoutMs` passes first; the socket is closed either way.
   */
  exchange(query: Buffer, upstream: Upstream, transport: DnsTransport, asker: Asker, timeoutMs: number): Promise<Buffer>;
}
