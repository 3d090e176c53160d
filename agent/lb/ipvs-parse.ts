import type { LbProtocol } from './model';
import { IPVS_DEFAULT_TIMEOUTS, type IpvsObserved, type IpvsRealServer, type IpvsServiceId, type IpvsTimeouts, type IpvsVirtualService } from './ipvs-model';

/**
 * Parses what the observe loop prints for one namespace: `ipvsadm -Sn` (the table as restore
 * commands), `ipvsadm -L --timeout`, and `@expire V` (net.ipv4.vs.expire_nodest_conn).
 */
export function parseIpvsNamespace(lines: readonly string[]): IpvsObserved {
  const services = new Map<string, IpvsVirtualService>();
  const foreign: string[] = [];
  let timeouts: IpvsTimeouts = IPVS_DEFAULT_TIMEOUTS;
  let expireNodestConn = false;
  for (const line of lines) {
    const words = line.trim().split(/\s+/);
    const [command, kind, address] = words;
    if (command === '-A' && kind !== undefined && address !== undefined) {
      const id = serviceId(kind, address);
      if (id === undefined) foreign.push(`${kind} ${address}`);
      else services.set(serviceKey(id), { ...id, ...schedulerAndOptions(words.slice(3)), realServers: [] });
    } else if (command === '-a' && kind !== undefined && address !== undefined) {
      const id = serviceId(kind, address);
      const real = realServer(words.slice(3));
      if (id !== undefined && real !== undefined) services.get(serviceKey(id))?.realServers.push(real);
    } else if (line.startsWith('Timeout (tcp tcpfin udp):')) {
      const [tcp, tcpFin, udp] = line.slice(line.indexOf(':') + 1).trim().split(/\s+/).map(Number);
      if (tcp !== undefined && tcpFin !== undefined && udp !== undefined) timeouts = { tcp, tcpFin, udp };
    } else if (line.startsWith('@expire ')) {
      expireNodestConn = line.slice('@expire '.length).trim() === '1';
    }
  }
  for (const service of services.values()) service.realServers.sort(compareReal);
  return { services: [...services.values()].sort(compareServices), foreign, timeouts, expireNodestConn };
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

function compareIpv4(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
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
