import type { LbProtocol } from './model';

/**
 * What the IPVS engine reads from, and writes to, one sandbox namespace. IPVS tables are per
 * network namespace: each client sandbox is its own director (as Docker Swarm does it), in NAT
 * mode, so only the destination is rewritten and the backend sees the client's own address.
 */

/** One virtual service: IPVS names it by protocol, address and port (the VIP's port). */
export interface IpvsServiceId {
  protocol: LbProtocol;
  vip: string;
  port: number;
}

/** A real server (backend) of a virtual service; weight 0 = draining (no new connections). */
export interface IpvsRealServer {
  ip: string;
  port: number;
  weight: number;
  /** ipvsadm's forwarding flag: '-m' (masquerading, NAT) is the only one the engine writes. */
  forwarding: string;
}

export interface IpvsVirtualService extends IpvsServiceId {
  scheduler: string;
  /** Options ipvsadm prints beyond the scheduler (persistence, flags...), '' when none. */
  options: string;
  /** Sorted by ip, then port. */
  realServers: IpvsRealServer[];
}

/** Idle timeouts, in seconds; IPVS has one set per namespace, not per service. */
export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/**
 * The route that sends a VIP to IPVS: `VIP/32 dev lo src CLIENT proto 211`. IPVS takes a locally
 * made connection at LOCAL_OUT, and when the backend it picks is the client itself (a task
 * calling its own service) it keeps the packet's first route: through the sandbox's interface
 * that packet would go looking for its own address and time out; through lo it is delivered.
 * `src` is the sandbox's own address on the VIP's network: the backend sees it, as in NAT mode
 * it must, whichever interface the kernel would otherwise pick it from.
 * The route is also what makes a VIP the engine's: IPVS services carry no owner, and the engine
 * touches only the services of VIPs it routes (or is asked to balance), so a runtime's own IPVS
 * services in an adopted namespace are left alone. It is added before the VIP's services and
 * removed after them, so no crash leaves services of the engine's that it would not recognise.
 */
export interface IpvsVipRoute {
  vip: string;
  src: string;
}

/** Marks the engine's VIP routes (iproute2's `proto`), so it never touches another route. */
export const VIP_ROUTE_PROTOCOL = 211;

export interface IpvsObserved {
  /**
   * The namespace's TCP and UDP IPv4 services, sorted by protocol, vip, port: the engine's and
   * any other (an adopted namespace's runtime may have its own). Fwmark and IPv6 services, which
   * the engine never writes, are not listed.
   */
  services: IpvsVirtualService[];
  timeouts: IpvsTimeouts;
  /** net.ipv4.vs.expire_nodest_conn: a deleted backend's connections end at their next packet. */
  expireNodestConn: boolean;
  /** The namespace's IPv4 interface addresses, "a.b.c.d/len": where each VIP's route takes its src. */
  addresses: string[];
  /** Sorted by vip. */
  vipRoutes: IpvsVipRoute[];
}

/** One change to one namespace's IPVS table; a backend change is one real-server op. */
export type IpvsOp =
  | { op: 'add-service' | 'edit-service'; service: IpvsServiceId; scheduler: string }
  | { op: 'delete-service'; service: IpvsServiceId }
  | { op: 'add-real' | 'edit-real'; service: IpvsServiceId; real: IpvsRealServer }
  | { op: 'delete-real'; service: IpvsServiceId; ip: string; port: number }
  | { op: 'route-vip'; route: IpvsVipRoute }
  | { op: 'unroute-vip'; vip: string }
  | { op: 'set-timeouts'; timeouts: IpvsTimeouts }
  | { op: 'expire-nodest-conn' };

/** All the changes to one namespace: one `ipvsadm -R` there, and one `ip -batch` if routes change. */
export interface IpvsChange {
  netns: string;
  ops: IpvsOp[];
}

/** rr: an even spread without state to drift, and it skips weight-0 (draining) servers. Swarm uses rr too. */
export const IPVS_SCHEDULER = 'rr';
/** NAT: only the destination is rewritten; replies come back through the client's own namespace. */
export const IPVS_MASQUERADE = '-m';
/** IPVS's own defaults (tcp tcpfin udp), kept where no service asks for longer. */
export const IPVS_DEFAULT_TIMEOUTS: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };
