import { createSocket } from 'node:dgram';
import { connect, isIPv4, isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Asker, DnsMetrics, DnsTransport, Upstream, UpstreamExchange } from './model';
import { RCODE, rcodeOf } from './reply';
import { framed, TcpMessages } from './tcp-framing';

const DNS_PORT = 53;
/** Answers a resolver gives when it cannot help: glibc then asks its next nameserver, so do we. */
const TRY_NEXT = new Set<number>([RCODE.SERVFAIL, RCODE.NOTIMP, RCODE.REFUSED]);

/**
 * An upstream as resolv.conf or a setting writes it: "1.2.3.4", "1.2.3.4:5353", "::1" or
 * "[::1]:5353". Throws, naming the value, for anything else.
 */
export function parseUpstream(text: string, origin: Upstream['origin']): Upstream {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const withPort = /^([^:]+):(\d+)$/.exec(text);
  const [address, port] = bracketed ? [bracketed[1] ?? '', bracketed[2]] : withPort ? [withPort[1] ?? '', withPort[2]] : [text, undefined];
  const portNumber = port === undefined ? DNS_PORT : Number(port);
  if (!(isIPv4(address) || isIPv6(address)) || !(portNumber >= 1 && portNumber <= 65535)) {
    throw new Error(`resolver ${JSON.stringify(text)} is not an address; give an IPv4 or IPv6 address, optionally with a port, like 10.0.0.2 or 10.0.0.2:5353`);
  }
  return { address, port: portNumber, origin };
}

export function upstreamLabel(upstream: Upstream): string {
  return isIPv6(upstream.address) ? `[${upstream.address}]:${upstream.port}` : `${upstream.address}:${upstream.port}`;
}

export interface Forwarding {
  exchange: UpstreamExchange;
  timeoutMs: number;
  metrics?: DnsMetrics;
}

/**
 * The first useful reply of `upstreams`, asked in turn over the client's transport (a UDP reply
 * the upstream truncated goes back as it is, so the client retries over TCP and so do we), each
 * given `timeoutMs`; undefined when none gave one. The query and the reply pass unchanged: each
 * exchange has a socket of its own, so the client's id cannot be confused with another's. A
 * SERVFAIL, REFUSED or NOTIMP is passed on only from the last upstream.
 */
export async function forwardQuery(query: Buffer, id: number, upstreams: readonly Upstream[], transport: DnsTransport, asker: Asker, forwarding: Forwarding): Promise<Buffer | undefined> {
  for (const [index, upstream] of upstreams.entries()) {
    try {
      const reply = await forwarding.exchange.exchange(query, upstream, transport, asker, forwarding.timeoutMs);
      const decoded = dnsPacket.decode(reply);
      if (decoded.type !== 'response' || decoded.id !== id) throw new Error(`${upstreamLabel(upstream)} replied to another query`);
      if (!TRY_NEXT.has(rcodeOf(decoded))) return reply;
      forwarding.metrics?.upstreamFailure(upstreamLabel(upstream));
      if (index === upstreams.length - 1) return reply;
    } catch {
      forwarding.metrics?.upstreamFailure(upstreamLabel(upstream));
    }
  }
  return undefined;
}

/** Exchanges from the agent's own network namespace, a new socket per query. */
export const socketExchange: UpstreamExchange = {
  exchange(query: Buffer, upstream: Upstream, transport: DnsTransport, _asker: Asker, timeoutMs: number): Promise<Buffer> {
    return transport === 'udp' ? udpExchange(query, upstream, timeoutMs) : tcpExchange(query, upstream, timeoutMs);
  },
};

type Finish = (error: Error | undefined, reply?: Buffer) => void;

/**
 * One exchange, settled by the first of a reply, an error or the timeout; `open` starts it and
 * returns how to close its socket, which happens once, whatever settled it.
 */
function oneExchange(upstream: Upstream, timeoutMs: number, open: (finish: Finish) => () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let done = false;
    let close = (): void => undefined;
    const finish: Finish = (error, reply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      if (reply !== undefined) resolve(reply);
      else reject(error ?? new Error(`${upstreamLabel(upstream)} gave no reply`));
    };
    const timer = setTimeout(() => finish(new Error(`${upstreamLabel(upstream)} gave no reply within ${timeoutMs} ms`)), timeoutMs);
    close = open(finish);
  });
}

function udpExchange(query: Buffer, upstream: Upstream, timeoutMs: number): Promise<Buffer> {
  return oneExchange(upstream, timeoutMs, (finish) => {
    const socket = createSocket(isIPv6(upstream.address) ? 'udp6' : 'udp4');
    // A connected socket takes datagrams from the upstream only, and hears its "port unreachable".
    socket.on('error', (error) => finish(error));
    socket.on('message', (reply) => finish(undefined, reply));
    socket.connect(upstream.port, upstream.address, () => socket.send(query, (error) => error && finish(error)));
    return () => socket.close();
  });
}

function tcpExchange(query: Buffer, upstream: Upstream, timeoutMs: number): Promise<Buffer> {
  return oneExchange(upstream, timeoutMs, (finish) => {
    const socket = connect({ host: upstream.address, port: upstream.port, noDelay: true });
    const messages = new TcpMessages();
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`${upstreamLabel(upstream)} closed the connection without a reply`)));
    socket.on('connect', () => socket.write(framed(query)));
    socket.on('data', (chunk: Buffer) => {
      const [reply] = messages.push(chunk);
      if (reply !== undefined) finish(undefined, reply);
    });
    return () => socket.destroy();
  });
}
