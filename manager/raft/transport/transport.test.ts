import { credentials, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { randomFillSync } from 'node:crypto';
import { createServer } from 'node:net';
import pino from 'pino';
import { RaftClient, RaftService, SnapshotChunk, type RaftServer } from '../../../proto/gen/trellis/v1/raft';
import type { Entry, Message, NodeId } from '../core/types';
import { messageToProto } from './conversion';
import { maxQueuedMessages } from './peer-stream';
import { raftService } from './raft-service';
import { snapshotChunks } from './snapshot-chunks';
import { Transport } from './transport';

/** Things a callback was called with, and a way to wait for enough of them. */
class Recorder<T> {
  readonly items: T[] = [];
  private waiters: (() => void)[] = [];

  readonly record = (item: T): void => {
    this.items.push(item);
    for (const wake of this.waiters) wake();
  };

  until(condition: (items: T[]) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!condition(this.items)) return;
        this.waiters = this.waiters.filter((wake) => wake !== check);
        resolve();
      };
      this.waiters.push(check);
      check();
    });
  }
}

interface TestNode {
  id: NodeId;
  transport: Transport;
  received: Recorder<Message>;
  unreachable: Recorder<NodeId>;
  snapshotStatus: Recorder<[NodeId, boolean]>;
  server?: Server;
  address: string;
}

const logger = pino({ level: 'silent' });
const unimplemented = (_call: unknown, callback: (error: { code: status; details: string }) => void): void =>
  callback({ code: status.UNIMPLEMENTED, details: 'not under test' });
const memberHandlers = { join: unimplemented, propose: unimplemented };
const nodes: TestNode[] = [];

function createNode(id: NodeId, chunkBytes?: number): TestNode {
  const received = new Recorder<Message>();
  const unreachable = new Recorder<NodeId>();
  const snapshotStatus = new Recorder<[NodeId, boolean]>();
  const transport = new Transport({
    self: id,
    logger,
    credentials: credentials.createInsecure(),
    chunkBytes,
    onMessage: received.record,
    onUnreachable: unreachable.record,
    onSnapshotStatus: (peer, ok) => snapshotStatus.record([peer, ok]),
  });
  const node: TestNode = { id, transport, received, unreachable, snapshotStatus, address: '' };
  nodes.push(node);
  return node;
}

async function serve(node: TestNode, port = 0, service: RaftServer = raftService(node.transport, memberHandlers)): Promise<void> {
  const server = new Server();
  server.addService(RaftService, service);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  node.server = server;
  node.address = `127.0.0.1:${bound}`;
}

async function startNodes(...ids: NodeId[]): Promise<TestNode[]> {
  const started = ids.map((id) => createNode(id));
  await Promise.all(started.map((node) => serve(node)));
  for (const node of started) {
    for (const peer of started) if (peer !== node) node.transport.setPeer(peer.id, peer.address);
  }
  return started;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function message(from: NodeId, to: NodeId, index: number, entries: Entry[] = []): Message {
  return { type: 'app', from, to, term: 1, logTerm: 1, index, entries, commit: 0, reject: false, rejectHint: 0, context: '' };
}

function snapMessage(from: NodeId, to: NodeId, data: Uint8Array): Message {
  return {
    ...message(from, to, 0),
    type: 'snap',
    snapshot: { metadata: { index: 500, term: 3, confState: { voters: [from, to], learners: [] } }, data },
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function randomBytes(length: number): Uint8Array {
  return randomFillSync(new Uint8Array(length));
}

/** Exact equality of snap messages; jest compares megabytes of typed array element by element, far too slowly. */
function expectSameSnap(received: Message[], sent: Message): void {
  expect(received).toHaveLength(1);
  const [{ snapshot, ...message }] = received;
  const { snapshot: sentSnapshot, ...sentMessage } = sent;
  expect(message).toStrictEqual(sentMessage);
  expect(snapshot?.metadata).toStrictEqual(sentSnapshot?.metadata);
  expect(snapshot && Buffer.from(snapshot.data).equals(sentSnapshot!.data)).toBe(true);
}

/** Sends one message at a time until `to` has received something from `from` (the stream is up). */
async function untilConnected(from: TestNode, to: TestNode, firstIndex: number): Promise<void> {
  for (let index = firstIndex; !to.received.items.some((m) => m.from === from.id); index += 1) {
    from.transport.send([message(from.id, to.id, index)]);
    await sleep(20);
  }
}

afterEach(() => {
  for (const node of nodes.splice(0)) {
    node.transport.close();
    node.server?.forceShutdown();
  }
});

describe('Transport over gRPC on loopback', () => {
  it('delivers many messages from each peer to each other peer in order', async () => {
    const cluster = await startNodes('a', 'b', 'c');
    const rounds = 3;
    const perRound = 1000;
    for (let round = 0; round < rounds; round += 1) {
      for (const sender of cluster) {
        const batch = cluster
          .filter((peer) => peer !== sender)
          .flatMap((peer) => range(round * perRound, (round + 1) * perRound).map((i) => message(sender.id, peer.id, i)));
        sender.transport.send(batch);
      }
      await Promise.all(cluster.map((node) => node.received.until((items) => items.length === 2 * (round + 1) * perRound)));
    }
    for (const receiver of cluster) {
      for (const sender of cluster.filter((node) => node !== receiver)) {
        const indexes = receiver.received.items.filter((m) => m.from === sender.id).map((m) => m.index);
        expect(indexes).toEqual(range(0, rounds * perRound));
      }
    }
  });

  it('keeps binary entries intact', async () => {
    const [a, b] = await startNodes('a', 'b');
    const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const sent = [
      message('a', 'b', 1, [
        { term: 1, index: 2, type: 'normal', data: allBytes },
        { term: 1, index: 3, type: 'normal', data: new Uint8Array() },
        { term: 1, index: 4, type: 'confChange', data: randomBytes(200_000) },
      ]),
      { ...message('a', 'b', 5), type: 'heartbeat' as const, context: 'read-7' },
    ];
    a.transport.send(sent);
    await b.received.until((items) => items.length === 2);
    expect(b.received.items).toStrictEqual(sent);
  });

  it('streams a snapshot of several MiB in bounded chunks and delivers it as one snap message', async () => {
    const chunkBytes = 64 * 1024;
    const a = createNode('a', chunkBytes);
    const b = createNode('b');
    const chunkSizes: number[] = [];
    const service = raftService(b.transport, memberHandlers);
    await serve(b, 0, {
      ...service,
      sendSnapshot: (call, callback) => {
        call.on('data', (chunk: SnapshotChunk) => chunkSizes.push(SnapshotChunk.encode(chunk).finish().byteLength));
        service.sendSnapshot(call, callback);
      },
    });
    a.transport.setPeer('b', b.address);
    const snap = snapMessage('a', 'b', randomBytes(5 * 1024 * 1024 + 123));

    a.transport.send([snap]);
    await a.snapshotStatus.until((items) => items.length === 1);

    expect(a.snapshotStatus.items).toEqual([['b', true]]);
    expectSameSnap(b.received.items, snap);
    expect(chunkSizes.length).toBe(Math.ceil(snap.snapshot!.data.byteLength / chunkBytes));
    expect(Math.max(...chunkSizes)).toBeLessThanOrEqual(chunkBytes + 256);
  });

  it('sends a snapshot larger than gRPC\'s default 4 MiB receive limit with the default chunk size', async () => {
    const [a, b] = await startNodes('a', 'b');
    const snap = snapMessage('a', 'b', randomBytes(9 * 1024 * 1024));
    a.transport.send([snap]);
    await a.snapshotStatus.until((items) => items.length === 1);
    expect(a.snapshotStatus.items).toEqual([['b', true]]);
    expectSameSnap(b.received.items, snap);
  });

  it('reports a snapshot to an unknown peer as failed', async () => {
    const [a] = await startNodes('a');
    a.transport.send([snapMessage('a', 'x', randomBytes(10))]);
    await a.snapshotStatus.until((items) => items.length === 1);
    expect(a.snapshotStatus.items).toEqual([['x', false]]);
  });

  it('reports a snapshot to a peer that is down as failed', async () => {
    const [a] = await startNodes('a');
    a.transport.setPeer('b', `127.0.0.1:${await freePort()}`);
    a.transport.send([snapMessage('a', 'b', randomBytes(1000))]);
    await a.snapshotStatus.until((items) => items.length === 1);
    expect(a.snapshotStatus.items).toEqual([['b', false]]);
  });

  it('reports a peer that is down, drops its messages, and resumes once it is back on the same address', async () => {
    const [a] = await startNodes('a');
    const b = createNode('b');
    const port = await freePort();
    a.transport.setPeer('b', `127.0.0.1:${port}`);

    a.transport.send(range(0, 10).map((i) => message('a', 'b', i)));
    await a.unreachable.until((peers) => peers.includes('b'));

    await serve(b, port);
    await untilConnected(a, b, 100);
    a.transport.send(range(1000, 1100).map((i) => message('a', 'b', i)));
    await b.received.until((items) => items.some((m) => m.index === 1099));

    const indexes = b.received.items.map((m) => m.index);
    expect(indexes.every((index) => index >= 100)).toBe(true);
    expect(indexes).toEqual([...indexes].sort((x, y) => x - y));
    expect(indexes.slice(-100)).toEqual(range(1000, 1100));
  });

  it('holds a bounded queue per peer, dropping and reporting what overflows it', async () => {
    const [a, b] = await startNodes('a', 'b');
    // The stream was only just opened: nothing can be written before the peer accepts it.
    a.transport.send(range(0, maxQueuedMessages + 500).map((i) => message('a', 'b', i)));
    await a.unreachable.until((peers) => peers.includes('b'));
    await b.received.until((items) => items.length === maxQueuedMessages);
    expect(b.received.items.map((m) => m.index)).toEqual(range(0, maxQueuedMessages));
  });

  it('reports a peer whose stream breaks when it goes away', async () => {
    const [a, b] = await startNodes('a', 'b');
    await untilConnected(a, b, 0);
    b.server!.forceShutdown();
    await a.unreachable.until((peers) => peers.includes('b'));
  });
});

describe('the receiving side', () => {
  const callError = (run: (callback: (error: ServiceError | null) => void) => void): Promise<ServiceError | null> =>
    new Promise((resolve) => run(resolve));

  it('rejects a stream carrying a message addressed to another member', async () => {
    const [b] = await startNodes('b');
    const client = new RaftClient(b.address, credentials.createInsecure());
    const error = await callError((done) => {
      const call = client.stream(done);
      call.write(messageToProto(message('a', 'b', 1)));
      call.write(messageToProto(message('a', 'c', 2)));
      call.write(messageToProto(message('a', 'b', 3)));
      call.end();
    });
    client.close();
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/for "c" reached "b"/);
    expect(b.received.items.map((m) => m.index)).toEqual([1]);
  });

  it('rejects snapshot chunks whose offsets are not consecutive, delivering nothing', async () => {
    const [b] = await startNodes('b');
    const client = new RaftClient(b.address, credentials.createInsecure());
    const [first, , third] = snapshotChunks(snapMessage('a', 'b', randomBytes(30)), 10);
    const error = await callError((done) => {
      const call = client.sendSnapshot(done);
      call.write(first);
      call.write(third);
      call.end();
    });
    client.close();
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/offset 20, expected 10/);
    expect(b.received.items).toEqual([]);
  });
});
