import { compareIpv4, parseIpv4 } from '../../proto/runtime/ipv4';
import { parseJsonArray, parseLinks } from '../kernel/iproute-json';
import type { LbProtocol } from './model';
import { IPVS_DEFAULT_TIMEOUTS } from './ipvs-model';
import type { IpvsObserved, IpvsRealServer, IpvsServiceId, IpvsTimeouts, IpvsVipRoute, IpvsVirtualService } from './ipvs-model';

/** Prefixes of the observe loop's lines that are not ipvsadm's. */
export const OBSERVED_MARKS = { expire: '@expire ', addresses: '@addr ', routes: '@routes ' } as const;

/**
 * Parses what the observe loop prints for one namespace: `ipvsadm -Sn` (the table as restore
 * commands), `ipvsadm -L --timeout`, `@expire V` (net.ipv4.vs.expire_nodest_conn), and
 * `@addr JSON` / `@routes JSON` (`ip -4 -j addr show`, `ip -4 -j route show proto 211`).
 */
export function parseIpvsNamespace(lines: readonly string[]): IpvsObserved {
  const services = new Map<string, IpvsVirtualService>();
  let timeouts: IpvsTimeouts = IPVS_DEFAULT_TIMEOUTS;
  let expireNodestConn = false;
  let addresses: string[] = [];
  let vipRoutes: IpvsVipRoute[] = [];
  for (const line of lines) {
    if (line.startsWith(OBSERVED_MARKS.addresses)) {
      addresses = parseLinks(line.slice(OBSERVED_MARKS.addresses.length)).flatMap((link) => link.addresses);
      continue;
    }
    if (line.startsWith(OBSERVED_MARKS.routes)) {
      vipRoutes = parseVipRoutes(line.slice(OBSERVED_MARKS.routes.length));
      continue;
    }
    const words = line.trim().split(/\s+/);
    const [command, kind, address] = words;
    if (command === '-A' && kind !== undefined && address !== undefined) {
      const id = serviceId(kind, address);
      if (id !== undefined) services.set(serviceKey(id), { ...id, ...schedulerAndOptions(words.slice(3)), realServers: [] });
    } else if (command === '-a' && kind !== undefined && address !== undefined) {
      const id = serviceId(kind, address);
      const real = realServer(words.slice(3));
      if (id !== undefined && real !== undefined) services.get(serviceKey(id))?.realServers.push(real);
    } else if (line.startsWith('Timeout (tcp tcpfin udp):')) {
      const [tcp, tcpFin, udp] = line.slice(line.indexOf(':') + 1).trim().split(/\s+/).map(Number);
      if (tcp !== undefined && tcpFin !== undefined && udp !== undefined) timeouts = { tcp, tcpFin, udp };
    } else if (line.startsWith(OBSERVED_MARKS.expire)) {
      expireNodestConn = line.slice(OBSERVED_MARKS.expire.length).trim() === '1';
    }
  }
  for (const service of services.values()) service.realServers.sort(compareReal);
  return { services: [...services.values()].sort(compareServices), timeouts, expireNodestConn, addresses, vipRoutes };
}

/** `ip -4 -j route show proto 211`: the engine's VIP routes (a route without a src is listed with src ''). */
function parseVipRoutes(text: string): IpvsVipRoute[] {
  return parseJsonArray(text)
    .map((route) => ({ vip: typeof route['dst'] === 'string' ? route['dst'] : '', src: typeof route['prefsrc'] === 'string' ? route['prefsrc'] : '' }))
    .filter((route) => parseIpv4(route.vip) !== undefined)
    .sort((a, b) => compareIpv4(a.vip, b.vip));
}

/** How ipvsadm names a service on its command line: `-t 10.0.0.5:80`. */
export function serviceKey(id: IpvsServiceId): string {
  return `${id.protocol === 'tcp' ? '-t' : '-u'} ${id.vip}:${id.port}`;
}

export function compareServices(a: IpvsServiceId, b: IpvsServiceId): number {
  return a.protocol.localeCompare(b.protocol) || compareIpv4(a.vip, b.vip) || a.port - b.port;
}

export function compareReal(a: { ip: string; port: number }, b: { ip: string; port: number }): number {
  return compareIpv4(a.ip, b.ip) || a.port - b.port;
}

const PROTOCOLS: Record<string, LbProtocol> = { '-t': 'tcp', '-u': 'udp' };

/** undefined for anything the engine never writes: fwmark (-f), SCTP, IPv6. */
function serviceId(kind: string, address: string): IpvsServiceId | undefined {
  const protocol = PROTOCOLS[kind];
  const endpoint = ipv4Endpoint(address);
  return protocol === undefined || endpoint === undefined ? undefined : { protocol, vip: endpoint.ip, port: endpoint.port };
}

function ipv4Endpoint(text: string): { ip: string; port: number } | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  return match?.[1] === undefined || match[2] === undefined ? undefined : { ip: match[1], port: Number(match[2]) };
}

function schedulerAndOptions(words: readonly string[]): { scheduler: string; options: string } {
  const at = words.indexOf('-s');
  const scheduler = at >= 0 ? (words[at + 1] ?? '') : '';
  const options = words.filter((_, index) => at < 0 || (index !== at && index !== at + 1)).join(' ');
  return { scheduler, options };
}

function realServer(words: readonly string[]): IpvsRealServer | undefined {
  const at = words.indexOf('-r');
  const endpoint = at >= 0 ? ipv4Endpoint(words[at + 1] ?? '') : undefined;
  if (endpoint === undefined) return undefined;
  const weightAt = words.indexOf('-w');
  const weight = weightAt >= 0 ? Number(words[weightAt + 1]) : 1;
  const forwarding = words.find((word) => word === '-m' || word === '-g' || word === '-i') ?? '-g';
  return { ...endpoint, weight: Number.isFinite(weight) ? weight : 1, forwarding };
}
