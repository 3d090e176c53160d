import { addressOnly, cidrContains, compareIpv4, parseCidr, parseIpv4 } from '../../proto/runtime/ipv4';
import type { LbService, NamespaceBalancing } from './model';
import {
  IPVS_DEFAULT_TIMEOUTS,
  IPVS_MASQUERADE,
  IPVS_SCHEDULER,
  type IpvsChange,
  type IpvsObserved,
  type IpvsOp,
  type IpvsRealServer,
  type IpvsServiceId,
  type IpvsTimeouts,
  type IpvsVipRoute,
  type IpvsVirtualService,
} from './ipvs-model';
import { compareReal, compareServices, serviceKey } from './ipvs-parse';

const EMPTY: IpvsObserved = { services: [], timeouts: IPVS_DEFAULT_TIMEOUTS, expireNodestConn: false, addresses: [], vipRoutes: [] };

/**
 * The changes that make each namespace's IPVS table what `desired` says; none for a namespace
 * that already is. A namespace observed but not desired is emptied of the engine's services. Pure.
 */
export function planIpvs(desired: readonly NamespaceBalancing[], observed: ReadonlyMap<string, IpvsObserved>): IpvsChange[] {
  const wanted = new Map(desired.map((namespace) => [namespace.netns, namespace.services] as const));
  for (const netns of observed.keys()) if (!wanted.has(netns)) wanted.set(netns, []);
  const changes: IpvsChange[] = [];
  for (const [netns, services] of wanted) {
    const ops = planNamespace(services, observed.get(netns) ?? EMPTY);
    if (ops.length > 0) changes.push({ netns, ops });
  }
  return changes;
}

/** The virtual services one namespace must hold for these VIPs: one per VIP port. */
export function ipvsServicesOf(services: readonly LbService[]): IpvsVirtualService[] {
  return services
    .flatMap((service) =>
      service.ports.map((port) => ({
        protocol: port.protocol,
        vip: service.vip,
        port: port.port,
        scheduler: IPVS_SCHEDULER,
        options: '',
        realServers: service.backends
          .map((backend) => ({ ip: backend.ip, port: port.targetPort, weight: backend.accepting ? 1 : 0, forwarding: IPVS_MASQUERADE }))
          .sort(compareReal),
      })),
    )
    .sort(compareServices);
}

/**
 * IPVS keeps one set of idle timeouts per namespace, so the longest any of its services asks for
 * applies to all of them; a protocol no service sets keeps IPVS's default.
 */
export function ipvsTimeoutsOf(services: readonly LbService[]): IpvsTimeouts {
  const longest = (pick: (service: LbService) => number, fallback: number): number =>
    services.reduce((max, service) => Math.max(max, pick(service)), 0) || fallback;
  return {
    tcp: longest((service) => service.tcpIdleTimeoutSeconds, IPVS_DEFAULT_TIMEOUTS.tcp),
    tcpFin: IPVS_DEFAULT_TIMEOUTS.tcpFin,
    udp: longest((service) => service.udpIdleTimeoutSeconds, IPVS_DEFAULT_TIMEOUTS.udp),
  };
}

/**
 * A VIP is balanced in a namespace once the namespace has its own address on the VIP's network
 * (its route's src). Only the services of VIPs the engine balances or still routes are its own
 * to change or delete (see IpvsVipRoute). Order: new routes, the table, routes of VIPs gone.
 */
function planNamespace(services: readonly LbService[], observed: IpvsObserved): IpvsOp[] {
  const routes = vipRoutesOf(services, observed.addresses);
  const balanced = new Set(routes.map((route) => route.vip));
  const owned = new Set([...balanced, ...observed.vipRoutes.map((route) => route.vip)]);
  const balancedServices = services.filter((service) => balanced.has(service.vip));
  const want = ipvsServicesOf(balancedServices);
  const wantKeys = new Set(want.map(serviceKey));
  const routed = new Map(observed.vipRoutes.map((route) => [route.vip, route.src] as const));
  const ops: IpvsOp[] = routes.filter((route) => routed.get(route.vip) !== route.src).map((route) => ({ op: 'route-vip', route }));
  for (const service of observed.services) {
    if (owned.has(service.vip) && !wantKeys.has(serviceKey(service))) ops.push({ op: 'delete-service', service: idOf(service) });
  }
  const have = new Map(observed.services.map((service) => [serviceKey(service), service] as const));
  for (const service of want) ops.push(...planService(service, have.get(serviceKey(service))));
  for (const route of observed.vipRoutes) if (!balanced.has(route.vip)) ops.push({ op: 'unroute-vip', vip: route.vip });
  if (balancedServices.length === 0) return ops;
  const timeouts = ipvsTimeoutsOf(balancedServices);
  const now = observed.timeouts;
  if (now.tcp !== timeouts.tcp || now.tcpFin !== timeouts.tcpFin || now.udp !== timeouts.udp) ops.push({ op: 'set-timeouts', timeouts });
  if (!observed.expireNodestConn) ops.push({ op: 'expire-nodest-conn' });
  return ops;
}

/**
 * Each VIP's route, its src the namespace's own address in the VIP's subnet; none yet for a VIP
 * no interface address covers (the sandbox's address on that network is not there yet).
 */
export function vipRoutesOf(services: readonly LbService[], addresses: readonly string[]): IpvsVipRoute[] {
  const subnets = addresses.flatMap((address) => {
    const parsed = parseCidr(address);
    const cidr = parsed.ok ? parsed.cidr : parsed.reason === 'host-bits' ? parsed.network : undefined;
    return cidr === undefined ? [] : [{ ip: addressOnly(address), cidr }];
  });
  const routes = new Map<string, IpvsVipRoute>();
  for (const { vip } of services) {
    const vipNumber = parseIpv4(vip);
    const own = vipNumber === undefined ? undefined : subnets.find((subnet) => subnet.cidr.prefixLength < 32 && cidrContains(subnet.cidr, vipNumber));
    if (own !== undefined) routes.set(vip, { vip, src: own.ip });
  }
  return [...routes.values()].sort((a, b) => compareIpv4(a.vip, b.vip));
}

function planService(want: IpvsVirtualService, have: IpvsVirtualService | undefined): IpvsOp[] {
  const service = idOf(want);
  if (have === undefined) {
    return [{ op: 'add-service', service, scheduler: want.scheduler }, ...want.realServers.map((real): IpvsOp => ({ op: 'add-real', service, real }))];
  }
  const ops: IpvsOp[] = [];
  if (have.scheduler !== want.scheduler || have.options !== want.options) ops.push({ op: 'edit-service', service, scheduler: want.scheduler });
  const wanted = new Map(want.realServers.map((real) => [endpointKey(real), real] as const));
  for (const real of have.realServers) {
    if (!wanted.has(endpointKey(real))) ops.push({ op: 'delete-real', service, ip: real.ip, port: real.port });
  }
  const existing = new Map(have.realServers.map((real) => [endpointKey(real), real] as const));
  for (const real of want.realServers) {
    const current = existing.get(endpointKey(real));
    if (current === undefined) ops.push({ op: 'add-real', service, real });
    else if (current.weight !== real.weight || current.forwarding !== real.forwarding) ops.push({ op: 'edit-real', service, real });
  }
  return ops;
}

function idOf(service: IpvsServiceId): IpvsServiceId {
  return { protocol: service.protocol, vip: service.vip, port: service.port };
}

function endpointKey(real: IpvsRealServer): string {
  return `${real.ip}:${real.port}`;
}
