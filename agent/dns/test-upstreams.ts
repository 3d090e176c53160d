import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import { framed, TcpMessages } from './tcp-framing';

/** What a test upstream replies to a query, or undefined to stay silent. */
export type UpstreamHandler = (query: DecodedPacket, transport: 'udp' | 'tcp') => Packet | undefined;

/** A real DNS server on 127.0.0.1 (UDP and TCP on one port), answering with `handler`, for the resolver's tests. */
export class TestUpstream {
  readonly queries: { query: DecodedPacket; transport: 'udp' | 'tcp' }[] = [];

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
  ) {}

  static async start(handler: UpstreamHandler): Promise<TestUpstream> {
    const tcp = createServer();
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const udp = createSocket('udp4');
    udp.bind((tcp.address() as AddressInfo).port, '127.0.0.1');
    await once(udp, 'listening');
    const upstream = new TestUpstream(udp, tcp);
    udp.on('message', (message, from) => {
      const reply = upstream.reply(message, 'udp', handler);
      if (reply !== undefined) udp.send(reply, from.port, from.address);
    });
    tcp.on('connection', (connection) => {
      const messages = new TcpMessages();
      connection.on('error', () => undefined);
      connection.on('data', (chunk: Buffer) => {
        for (const message of messages.push(chunk)) {
          const reply = upstream.reply(message, 'tcp', handler);
          if (reply !== undefined) connection.write(framed(reply));
        }
      });
    });
    return upstream;
  }

  /** "127.0.0.1:PORT", as ResolverOptions.hostResolvers takes it. */
  get address(): string {
    return `127.0.0.1:${this.udp.address().port}`;
  }

  async stop(): Promise<void> {
    this.udp.close();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }

  private reply(message: Buffer, transport: 'udp' | 'tcp', handler: UpstreamHandler): Buffer | undefined {
    const query = dnsPacket.decode(message);
    this.queries.push({ query, transport });
    const reply = handler(query, transport);
    return reply === undefined ? undefined : dnsPacket.encode({ type: 'response', id: query.id, questions: query.questions, ...reply });
  }
}

/** A UDP socket bound on 127.0.0.1 that never answers: an upstream that is down but not refusing. */
export async function silentUpstream(): Promise<{ address: string; stop(): void }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { address: `127.0.0.1:${socket.address().port}`, stop: () => socket.close() };
}
