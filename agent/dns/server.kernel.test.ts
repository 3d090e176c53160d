/**
 * The resolver's sockets against the real kernel: a client inside each fresh namespace reaches
 * 127.0.0.11:53 over UDP and TCP, is answered as its own namespace, several queries share one TCP
 * connection, a namespace whose lo was never up is served once it is, one whose port is taken is
 * served once it is free, connections beyond the limit and idle ones are closed, and a namespace
 * that left the view has no resolver any more. The
 * Resolver is a fake that names the asker: this tests the server, not the answers.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import * as packet from 'dns-packet';
import pino from 'pino';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { Asker, DnsTransport, Resolver } from './model';
import { DnsServer, namespaceListeners } from './server';

const PREFIX = `trdnsk-${process.pid}`;
const NAMESPACES = [`${PREFIX}-a`, `${PREFIX}-b`, `${PREFIX}-lodown`, `${PREFIX}-taken`, `${PREFIX}-slow`];
const [A, B, LO_DOWN, TAKEN, SLOW] = NAMESPACES as [string, string, string, string, string];
const run = promisify(execFile);
const LIMITS = { tcpIdleMs: 300, tcpConnections: 2, tcpQueriesInFlight: 4 };

/** Answers every question with a TXT record saying who asked and how. */
const namingResolver: Resolver = {
  update: () => undefined,
  respond: async (query: Buffer, asker: Asker, transport: DnsTransport) => {
    const decoded = packet.decode(query);
    const answers = (decoded.questions ?? []).map((question) => ({ type: 'TXT' as const, name: question.name, data: `${asker.netnsName} ${transport}` }));
    return packet.encode({ id: decoded.id, type: 'response', flags: packet.RECURSION_DESIRED, questions: decoded.questions, answers });
  },
};

function viewOf(namespaces: string[]): NodeView {
  return {
    revision: 1, nodeId: 'A', nodeName: 'a', advertiseAddr: '198.18.0.1', networks: [], endpoints: [], members: [], overlaySubnets: [], services: [],
    sandboxes: namespaces.map((name) => ({ id: name, name, netnsName: `trsb-of-${name}`, networkMode: '', sharesNetns: false, netnsPath: `/run/netns/${name}` })),
  };
}

/** dig inside the namespace: asynchronous, since the server answering it runs in this process. */
async function dig(namespace: string, ...args: string[]): Promise<string> {
  const result = await run('ip', ['netns', 'exec', namespace, 'dig', '@127.0.0.11', '+short', '+tries=1', '+time=2', ...args]).catch(
    (failed: { stdout: string; stderr: string }) => failed,
  );
  return `${result.stdout}${result.stderr}`.trim();
}

/**
 * A Node client inside NAMESPACE: opens `connections` TCP connections one after the other (all
 * held open), then on each sends `queries` queries in one write and reports, per connection, the
 * TXT answers it got or "closed" when the server closed it first.
 */
async function tcpClient(namespace: string, connections: number, queries: number): Promise<string[][]> {
  const script = `
    const net = require('node:net');
    const packet = require(${JSON.stringify(require.resolve('dns-packet'))});
    const open = () => new Promise((resolve) => { const s = net.connect(53, '127.0.0.11', () => resolve(s)); });
    const ask = (socket) => new Promise((resolve) => {
      let data = Buffer.alloc(0);
      const answers = [];
      socket.on('data', (chunk) => {
        data = Buffer.concat([data, chunk]);
        while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          answers.push(packet.decode(data.subarray(2, 2 + data.readUInt16BE(0))).answers.map((a) => a.name + '=' + a.data).join());
          data = data.subarray(2 + data.readUInt16BE(0));
          if (answers.length === ${queries}) resolve(answers);
        }
      });
      socket.on('close', () => resolve(answers.length === ${queries} ? answers : ['closed']));
      socket.on('error', () => resolve(['closed']));
      const frames = [];
      for (let i = 0; i < ${queries}; i++) frames.push(packet.streamEncode({ id: i, type: 'query', questions: [{ type: 'TXT', name: 'q' + i + '.test' }] }));
      socket.write(Buffer.concat(frames));
    });
    (async () => {
      const sockets = [];
      for (let i = 0; i < ${connections}; i++) sockets.push(await open());
      const results = await Promise.all(sockets.map(ask));
      process.stdout.write(JSON.stringify(results));
      for (const s of sockets) s.destroy();
    })();`;
  const { stdout } = await run('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return JSON.parse(stdout) as string[][];
}

/** A process inside NAMESPACE holding 127.0.0.11:53 (UDP), as another resolver would; resolves once it holds it. */
function portHolder(namespace: string): Promise<ChildProcess> {
  const holder = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c',
    'import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(("127.0.0.11", 53))\nprint("held", flush=True)\ntime.sleep(120)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    holder.stdout?.once('data', () => resolve(holder));
    holder.once('exit', (code) => reject(new Error(`the port holder exited with ${code}`)));
  });
}

describe('DNS server in sandbox namespaces (real sockets)', () => {
  const logger = pino({ level: 'silent' });
  const server = new DnsServer(logger, namespaceListeners(namingResolver, logger, LIMITS));
  const holders: ChildProcess[] = [];

  beforeAll(() => {
    for (const namespace of NAMESPACES) execFileSync('ip', ['netns', 'add', namespace]);
    for (const namespace of [A, B, TAKEN, SLOW]) execFileSync('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
  });
  afterAll(() => {
    server.close();
    for (const holder of holders) holder.kill();
    for (const namespace of NAMESPACES) spawnSync('ip', ['netns', 'del', namespace]);
  });

  it('answers each namespace as itself over UDP and TCP, whatever address the client asks from', async () => {
    expect(server.sync(viewOf([A, B]))).toEqual({ serving: 2, failing: 0 });
    expect(await dig(A, 'TXT', 'who.test')).toBe(`"trsb-of-${A} udp"`);
    expect(await dig(B, 'TXT', 'who.test')).toBe(`"trsb-of-${B} udp"`);
    expect(await dig(A, '+tcp', 'TXT', 'who.test')).toBe(`"trsb-of-${A} tcp"`);
    expect(await dig(B, '-b', '127.0.0.99', 'TXT', 'who.test')).toBe(`"trsb-of-${B} udp"`);
  });

  it('answers several queries sent at once on one TCP connection, in order', async () => {
    expect(await tcpClient(A, 1, 3)).toEqual([[0, 1, 2].map((i) => `q${i}.test=trsb-of-${A} tcp`)]);
  });

  it('refuses connections beyond the limit of one namespace, and closes idle ones', async () => {
    const [first, second, third] = await tcpClient(B, 3, 1);
    expect([first, second]).toEqual([[`q0.test=trsb-of-${B} tcp`], [`q0.test=trsb-of-${B} tcp`]]);
    expect(third).toEqual(['closed']);
    // A connection that sends nothing is closed by the server: the client's `cat` ends.
    const idle = await run('ip', ['netns', 'exec', A, 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.11/53; cat <&3; echo ended'], { encoding: 'utf8', timeout: 10_000 });
    expect(idle.stdout.trim()).toBe('ended');
  });

  it('serves a namespace whose lo was never up once it is, and one whose port was taken once it is free', async () => {
    const holder = await portHolder(TAKEN);
    holders.push(holder);
    expect(server.sync(viewOf([A, B, LO_DOWN, TAKEN]))).toEqual({ serving: 2, failing: 2 });
    execFileSync('ip', ['-n', LO_DOWN, 'link', 'set', 'lo', 'up']);
    expect(server.sync(viewOf([A, B, LO_DOWN, TAKEN]))).toEqual({ serving: 3, failing: 1 });
    expect(await dig(LO_DOWN, 'TXT', 'who.test')).toBe(`"trsb-of-${LO_DOWN} udp"`);

    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill();
    await exited;
    expect(server.sync(viewOf([A, B, LO_DOWN, TAKEN]))).toEqual({ serving: 4, failing: 0 });
    expect(await dig(TAKEN, 'TXT', 'who.test')).toBe(`"trsb-of-${TAKEN} udp"`);
  });

  it('drops the answers still on their way when their namespace leaves, handling the failed send, and serves it again when it is back', async () => {
    // The first two queries wait until the test lets them through; later ones are answered at once.
    const gate: Array<() => void> = [];
    const asked: Array<() => void> = [];
    let toHold = 2;
    const slowResolver: Resolver = {
      update: () => undefined,
      respond: async (query, asker, transport) => {
        if (toHold > 0) {
          toHold -= 1;
          asked.shift()?.();
          await new Promise<void>((resolve) => gate.push(resolve));
        }
        return namingResolver.respond(query, asker, transport);
      },
    };
    const problems: string[] = [];
    const debugLogger = pino({ level: 'debug' }, { write: (line: string) => problems.push((JSON.parse(line) as { error?: string }).error ?? '') });
    const slow = new DnsServer(debugLogger, namespaceListeners(slowResolver, debugLogger, LIMITS));
    try {
      slow.sync(viewOf([SLOW]));
      const twoAsked = Promise.all([new Promise<void>((resolve) => asked.push(resolve)), new Promise<void>((resolve) => asked.push(resolve))]);
      const clients = [dig(SLOW, 'TXT', 'who.test'), dig(SLOW, '+tcp', 'TXT', 'who.test')];
      await twoAsked;
      slow.sync(viewOf([]));
      for (const open of gate.splice(0)) open();
      for (const answer of await Promise.all(clients)) expect(answer).toMatch(/timed out|no servers could be reached|connection reset|end of file/);
      // The UDP answer could not be sent: reported as the client's problem, not thrown into the agent.
      expect(problems).toContainEqual(expect.stringMatching(/Not running/));
      slow.sync(viewOf([SLOW]));
      expect(await dig(SLOW, 'TXT', 'who.test')).toBe(`"trsb-of-${SLOW} udp"`);
    } finally {
      slow.close();
    }
  });

  it('has no resolver in a namespace that left the view', async () => {
    expect(server.sync(viewOf([B]))).toEqual({ serving: 1, failing: 0 });
    expect(await dig(A, 'TXT', 'who.test')).toMatch(/connection refused|timed out|no servers could be reached/);
    expect(await dig(A, '+tcp', 'TXT', 'who.test')).toMatch(/connection refused|timed out|no servers could be reached/);
    expect(await dig(B, 'TXT', 'who.test')).toBe(`"trsb-of-${B} udp"`);
  });
});
