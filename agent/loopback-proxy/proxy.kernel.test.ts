/**
 * The loopback proxy relaying for real: a "host" namespace the test makes, where the proxy's
 * sockets live (as the daemon's live in the host's own), and a "sandbox" namespace on a veth from
 * it, where a TCP and a UDP server answer at the published ports' target. Clients connect to
 * 127.0.0.1 inside the host namespace. No DNAT, no route_localnet. Needs root.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, Socket, type Server } from 'node:net';
import pino from 'pino';
import type { PublishedPort } from '../firewall/model';
import { tcpListenerIn, tcpSocketIn, udpSocketIn } from '../native/sockets-in-namespace';
import { deleteNetnsIfPresent, run } from '../reconcile/kernel-test-support';
import { namespacePlace } from './place';
import { LoopbackProxy, type ProxyStatus } from './proxy';

const tag = `trkp${process.pid}`;
const hostNs = `${tag}-h`;
const sandboxNs = `${tag}-s`;
const hostPath = `/run/netns/${hostNs}`;
const sandboxPath = `/run/netns/${sandboxNs}`;
const sandboxIp = '10.231.13.2';
const tcpPort: PublishedPort = { protocol: 'tcp', hostPort: 18080, address: sandboxIp, port: 80 };
const otherTcpTarget: PublishedPort = { ...tcpPort, port: 81 };
const udpPort: PublishedPort = { protocol: 'udp', hostPort: 15353, address: sandboxIp, port: 53 };

const logs: { level: number; msg: string; problem?: string }[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
const relayed: string[] = [];
const proxy = new LoopbackProxy(namespacePlace(hostPath), logger, { proxied: () => undefined, relayed: (protocol) => relayed.push(protocol) }, {
  idleMs: 200, maxFlows: 8, tcpConnections: 16,
});
const servers: Server[] = [];
let udpServer: UdpSocket;
/** Source address:port of each datagram the sandbox's UDP server got. */
const udpSources: string[] = [];

/** A TCP server in the sandbox that answers "<name>:" and what it was sent, upper-cased, once the client has sent everything. */
function tcpServer(port: number, name: string): Server {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(`${name}:${Buffer.concat(chunks).toString().toUpperCase()}`));
    socket.on('error', () => undefined);
  });
  server.listen({ fd: tcpListenerIn(sandboxPath, sandboxIp, port) });
  servers.push(server);
  return server;
}

/** A connection from the host namespace: `finish` sends `text`, half-closes, and returns all it got back. */
function openTcp(port: number): { connected: Promise<void>; finish(text: string): Promise<string> } {
  const socket = new Socket({ fd: tcpSocketIn(hostPath), readable: true, writable: true, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<string>((resolve, reject) => {
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
  // Awaited only once connected: a refused connection rejects `connected` instead.
  ended.catch(() => undefined);
  const connected = new Promise<void>((resolve, reject) => {
    socket.connect(port, '127.0.0.1', resolve);
    socket.on('error', reject);
  });
  return {
    connected,
    async finish(text) {
      try {
        await connected;
        socket.end(text);
        return await ended;
      } finally {
        socket.destroy();
      }
    },
  };
}

function askTcp(port: number, text: string): Promise<string> {
  return openTcp(port).finish(text);
}

/** A UDP client in the host namespace. */
function udpClient(): UdpSocket {
  const client = createSocket('udp4');
  client.bind({ fd: udpSocketIn(hostPath, '127.0.0.1', 0) });
  return client;
}

async function askUdp(client: UdpSocket, text: string): Promise<{ reply: string; from: string }> {
  const answer = once(client, 'message') as Promise<[Buffer, { address: string; port: number }]>;
  client.send(text, udpPort.hostPort, '127.0.0.1');
  const [reply, from] = await answer;
  return { reply: reply.toString(), from: `${from.address}:${from.port}` };
}

beforeAll(async () => {
  for (const ns of [hostNs, sandboxNs]) {
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
  }
  await run(['ip', '-n', hostNs, 'link', 'add', 'px0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sandboxNs]);
  await run(['ip', '-n', hostNs, 'addr', 'add', '10.231.13.1/24', 'dev', 'px0']);
  await run(['ip', '-n', sandboxNs, 'addr', 'add', `${sandboxIp}/24`, 'dev', 'eth0']);
  await run(['ip', '-n', hostNs, 'link', 'set', 'dev', 'px0', 'up']);
  await run(['ip', '-n', sandboxNs, 'link', 'set', 'dev', 'eth0', 'up']);
  tcpServer(80, 'eighty');
  tcpServer(81, 'eighty-one');
  udpServer = createSocket('udp4');
  udpServer.on('message', (datagram, from) => {
    udpSources.push(`${from.address}:${from.port}`);
    udpServer.send(`answer to ${datagram.toString()}`, from.port, from.address);
  });
  udpServer.bind({ fd: udpSocketIn(sandboxPath, sandboxIp, 53) });
});

afterAll(async () => {
  proxy.close();
  for (const server of servers) server.close();
  udpServer.close();
  for (const ns of [sandboxNs, hostNs]) await deleteNetnsIfPresent(ns).catch(() => undefined);
});

describe('loopback proxy', () => {
  test("127.0.0.1:HOST_PORT in the host namespace reaches the sandbox's TCP port, both ways, half-close included", async () => {
    expect(proxy.sync([tcpPort, udpPort])).toEqual<ProxyStatus>({ listening: 2, failing: 0 });

    expect(await askTcp(tcpPort.hostPort, 'hello')).toBe('eighty:HELLO');
    const many = await Promise.all(['a', 'b', 'c'].map((text) => askTcp(tcpPort.hostPort, text)));
    expect(many).toEqual(['eighty:A', 'eighty:B', 'eighty:C']);
    expect(relayed.splice(0)).toEqual(['tcp', 'tcp', 'tcp', 'tcp']);
  });

  test('UDP: each client is a flow of its own, answered from 127.0.0.1:HOST_PORT', async () => {
    const first = udpClient();
    const second = udpClient();
    try {
      expect(await askUdp(first, 'one')).toEqual({ reply: 'answer to one', from: `127.0.0.1:${udpPort.hostPort}` });
      expect(await askUdp(second, 'two')).toEqual({ reply: 'answer to two', from: `127.0.0.1:${udpPort.hostPort}` });
      expect(await askUdp(first, 'three')).toEqual({ reply: 'answer to three', from: `127.0.0.1:${udpPort.hostPort}` });
      // Three datagrams, two flows: the sandbox saw two sources, the first client's twice.
      const sources = udpSources.splice(0);
      expect(new Set(sources).size).toBe(2);
      expect(sources[0]).toBe(sources[2]);
      expect(sources.every((source) => source.startsWith('10.231.13.1:'))).toBe(true);
      expect(relayed.splice(0)).toEqual(['udp', 'udp']);
    } finally {
      first.close();
      second.close();
    }
  });

  test('an idle UDP flow is closed: the same client, quiet past the idle time, comes from a new flow', async () => {
    const client = udpClient();
    try {
      await askUdp(client, 'before');
      const before = udpSources.splice(0);
      let after: string[] = [];
      // Asked again only after longer than the idle time each round (idle 200 ms here).
      for (let round = 0; round < 20 && after.every((source) => source === before[0]); round += 1) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        await askUdp(client, 'after');
        after = udpSources.splice(0);
      }
      expect(after.some((source) => source !== before[0])).toBe(true);
    } finally {
      client.close();
    }
  });

  test('a sync over the same ports keeps connections open; a new target takes the next connection; an unpublished port closes', async () => {
    const open = openTcp(tcpPort.hostPort);
    await open.connected;
    expect(proxy.sync([tcpPort, udpPort])).toEqual({ listening: 2, failing: 0 });
    proxy.sync([otherTcpTarget, udpPort]);

    expect(await open.finish('kept')).toBe('eighty:KEPT');
    expect(await askTcp(tcpPort.hostPort, 'moved')).toBe('eighty-one:MOVED');

    proxy.sync([udpPort]);
    await expect(askTcp(tcpPort.hostPort, 'gone')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('a port something else holds is reported once, clearly, and taken once it is free', async () => {
    const squatter = createServer();
    squatter.listen({ fd: tcpListenerIn(hostPath, '127.0.0.1', tcpPort.hostPort) });
    await once(squatter, 'listening');

    expect(proxy.sync([tcpPort, udpPort])).toEqual({ listening: 1, failing: 1 });
    expect(proxy.sync([tcpPort, udpPort])).toEqual({ listening: 1, failing: 1 });
    const warnings = logs.filter((line) => line.msg.includes('cannot answer on 127.0.0.1'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.problem).toMatch(/errno 98: something else on the host listens on 127\.0\.0\.1:18080\/tcp/);

    squatter.close();
    await once(squatter, 'close');
    expect(proxy.sync([tcpPort, udpPort])).toEqual({ listening: 2, failing: 0 });
    expect(await askTcp(tcpPort.hostPort, 'back')).toBe('eighty:BACK');
  });

  test('nothing was asked of the kernel: loopback stays unroutable (route_localnet 0)', async () => {
    expect((await run(['ip', 'netns', 'exec', hostNs, 'sysctl', '-n', 'net.ipv4.conf.all.route_localnet'])).trim()).toBe('0');
  });
});
