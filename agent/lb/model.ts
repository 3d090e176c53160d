/**
 * What service load balancing must hold in each sandbox namespace of a node, whichever engine
 * (nftables or IPVS) programs it. Balancing runs in the client's own namespace and only
 * translates the destination (the VIP to a backend): the backend sees the client's real overlay
 * address, and a sandbox can only reach the VIPs of networks it is attached to.
 */

export type LbProtocol = 'tcp' | 'udp';

/** One port a service declares on its VIP (see LbService.ports). */
export interface LbPort {
  protocol: LbProtocol;
  /** The port clients connect to on the VIP. */
  port: number;
  /** The port on the backends (the agent makes it the VIP's: a VIP keeps the port, as Docker's does). */
  targetPort: number;
}

/** One backend address of a service on one network. */
export interface LbBackend {
  /** Overlay address of the backend's endpoint. */
  ip: string;
  /**
   * false: the backend is draining. It gets no new flows, and the flows it has keep working; once
   * it leaves the list altogether its remaining flows are cleared.
   */
  accepting: boolean;
}

/** A service's VIP on one network, as every sandbox attached to that network balances it. */
export interface LbService {
  /**
   * Stable and unique per (service, network): names the engine's objects for this VIP (a chain,
   * a map, an IPVS service), so a change to one VIP touches only its own objects.
   */
  key: string;
  vip: string;
  /**
   * The ports the service declares (its target ports). Only an engine whose VIPs answer just the
   * declared ports reads them (see LoadBalancer.vipPorts); a VIP of nftables answers every port.
   */
  ports: LbPort[];
  /** Sorted by ip; accepting and draining ones. Only backends the managers call ready (or draining). */
  backends: LbBackend[];
  /** Idle timeouts of the flows through this VIP; 0 = the engine's default. */
  tcpIdleTimeoutSeconds: number;
  udpIdleTimeoutSeconds: number;
}

/** Everything one sandbox namespace must balance. */
export interface NamespaceBalancing {
  /** Name under /run/netns (adopted namespaces are attached under one too). */
  netns: string;
  /** Sorted by key. A namespace with no services must hold none of the engine's objects. */
  services: LbService[];
}

/**
 * The engine-independent door the agent balances through. Same shape as the reconciler's kernel
 * work: read what is there, plan the difference (pure), apply only the difference. Level-triggered:
 * whatever drifted (a rule deleted by hand) is found on the next read and repaired.
 */
export interface LoadBalancer<Observed, Change> {
  readonly engine: 'nftables' | 'ipvs';
  /**
   * 'every': a VIP takes every TCP and UDP port, the flow keeping its port (Docker's VIP does);
   * 'declared': only LbService.ports, the others answer nothing (IPVS: see IpvsBalancer).
   */
  readonly vipPorts: 'every' | 'declared';
  /** What the engine holds in each of these namespaces now (absent or empty when nothing). */
  observe(netns: readonly string[]): Promise<Map<string, Observed>>;
  /** The changes that make `observed` equal `desired`; none when they are equal. Pure. */
  plan(desired: readonly NamespaceBalancing[], observed: ReadonlyMap<string, Observed>): Change[];
  /** Applies the changes; throws after trying every namespace if any failed. */
  apply(changes: readonly Change[]): Promise<void>;
}
