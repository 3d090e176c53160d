import type { ChannelCredentials } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import pino from 'pino';
import { ConnectNetworkRequest, CreateNetworkRequest, type ControlClient } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient, ManagerMessage, RegisterRequest, type NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { HeldView } from '../../proto/runtime/held-view';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';
import { ManagerSession } from '../../agent/session/manager-session';
import { adminControl, joinedNodeCredentials } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';

/**
 * A node whose view is several times gRPC's 4 MiB message limit (26 sandboxes on
 * it, each on 26 networks, every endpoint with 64 extra hosts of 253-byte names:
 * about 17 KB an endpoint, 11 MB in all), built through the Control API of a real
 * manager, and the real agent session receiving it over real gRPC.
 */
const side = 26;
const hostsPerEndpoint = 64;
const timeoutMs = 10_000;

/** A DNS name of exactly 253 characters (the most DNS allows) beginning with `tag`. */
function longName(tag: string): string {
  const labels = [tag];
  let length = tag.length;
  while (length < 253) {
    const label = Math.min(63, 253 - length - 1);
    labels.push(String.fromCharCode(97 + (labels.length % 26)).repeat(label));
    length += label + 1;
  }
  return labels.join('.');
}

function extraHosts(sandbox: number, network: number): string[] {
  return Array.from({ length: hostsPerEndpoint }, (_, h) => `${longName(`h${h}-${sandbox}-${network}`)}:10.200.${network}.${h + 1}`);
}

/** Runs `work` on every item, `width` at a time. */
async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += width) await Promise.all(items.slice(start, start + width).map(work));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('a node whose view is larger than a gRPC message', () => {
  let root: string;
  let manager: RunningManager;
  let control: ControlClient;
  let credentials: ChannelCredentials | undefined;
  const sessions: ManagerSession[] = [];
  const adminDir = () => join(root, 'admin');

  /** A real agent session for node "big" (always with the one worker certificate), handing its views to `onView`. */
  async function agentSession(onView: (view: NodeView) => void): Promise<ManagerSession> {
    credentials ??= await joinedNodeCredentials(manager.address, adminDir(), 'worker');
    const session = new ManagerSession({
      managers: [manager.address],
      credentials,
      nodeName: 'big',
      advertiseAddr: '198.18.0.77',
      gatewaySubnet: '',
      reservedPorts: [],
      logger: pino({ level: 'silent' }),
      onView,
      onTrust: () => undefined,
    });
    sessions.push(session);
    session.start();
    return session;
  }

  /**
   * A session of node "big" over a bare Dispatcher client (gRPC's default 4 MiB receive
   * limit) that says it holds `heldRevision`: the view messages up to the first complete update.
   */
  async function bareSession(heldRevision: number, assemblesDeltaParts: boolean): Promise<ManagerMessage[]> {
    const client = new DispatcherClient(manager.address, credentials ?? fail('no agent has joined yet'), managerChannelOptions);
    const stream = client.session();
    try {
      const { nodeId } = await callUnary(client, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'big', advertiseAddr: '198.18.0.77' }), timeoutMs);
      const messages: ManagerMessage[] = [];
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (message: ManagerMessage) => {
          const body = message.body;
          // The cluster's trust bundle opens every session; only view messages count here.
          if (body?.$case === 'trust') return;
          messages.push(message);
          if ((body?.$case === 'delta' && !body.value.more) || (body?.$case === 'resync' && body.value.last)) resolve();
        });
        stream.on('error', reject);
        stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: heldRevision, assemblesDeltaParts, gossipPublicKey: '' } } });
      });
      return messages;
    } finally {
      stream.cancel();
      client.close();
    }
  }

  /** The live session's views, from its first (empty) one while the node is built up. */
  const views: NodeView[] = [];
  let live: ManagerSession;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-large-view-'));
    manager = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm1'), adminDir: adminDir(), logger: pino({ level: 'silent' }) });
    control = adminControl(manager.address, adminDir());

    let registered = (): void => {};
    const first = new Promise<void>((resolve) => (registered = resolve));
    live = await agentSession((view) => {
      views.push(view);
      registered();
    });
    await first;

    await inBatches(range(side), 13, (n) =>
      callUnary(control, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: `net-${n}`, subnet: `10.200.${n}.0/24` }), timeoutMs),
    );
    await inBatches(range(side), 13, (s) => callUnary(control, (c) => c.createSandbox, { name: `sb-${s}`, node: 'big', netns: '', networkMode: '', netnsFrom: '' }, timeoutMs));
    const attachments = range(side).flatMap((s) => range(side).map((n) => ({ s, n })));
    await inBatches(attachments, 13, ({ s, n }) =>
      callUnary(
        control,
        (c) => c.connectNetwork,
        ConnectNetworkRequest.fromPartial({ network: `net-${n}`, sandbox: `sb-${s}`, extraHosts: extraHosts(s, n) }),
        timeoutMs,
      ),
    );
  });
  afterAll(async () => {
    for (const session of sessions) session.stop();
    control.close();
    await manager.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('still syncs: a live session through deltas, and a new agent through a resync', async () => {
    const store = manager.cluster.store;
    const nodeId = store.node('big')?.id ?? '';
    const expected = store.nodeView(nodeId);
    expect(expected.endpoints).toHaveLength(side * side);
    expect(ManagerMessage.encode({ body: { $case: 'resync', value: { part: expected, first: true, last: true } } }).finish().length).toBeGreaterThan(
      2 * 4 * 1024 * 1024,
    );

    await eventually(() => views[views.length - 1]?.revision === expected.revision, 'the live session reaches the last revision');
    expect(sameView(views[views.length - 1], expected)).toBe(true);

    live.stop();
    const resynced: NodeView[] = [];
    await agentSession((view) => resynced.push(view));
    await eventually(() => resynced.length > 0, 'a new agent receives its whole view');
    expect(resynced).toHaveLength(1);
    // Registering again is a write of its own: the view is the store's as of then.
    expect(sameView(resynced[0], store.nodeView(nodeId))).toBe(true);
  });

  it('sends an agent far behind the changes in delta parts of at most 256 KiB, applied whole at the last; one that cannot assemble parts, a resync', async () => {
    // The node's other sessions would take its session over when they reconnect.
    for (const session of sessions) session.stop();
    const before = views[0] ?? fail('the live session saw no view');
    const store = manager.cluster.store;
    const nodeId = store.node('big')?.id ?? '';
    const bytes = (message: ManagerMessage): number => ManagerMessage.encode(message).finish().length;

    const parts = await bareSession(before.revision, true);
    expect(parts.length).toBeGreaterThan(10);
    for (const message of parts) expect(bytes(message)).toBeLessThanOrEqual(256 * 1024);
    const held = new HeldView();
    held.applyChunk({ part: before, first: true, last: true });
    const applied = parts.map((message) => (message.body?.$case === 'delta' ? held.applyDelta(message.body.value) : fail('a resync chunk')));
    expect(applied.slice(0, -1).every((view) => view === undefined)).toBe(true);
    expect(sameView(applied[applied.length - 1], store.nodeView(nodeId))).toBe(true);

    const chunks = await bareSession(before.revision, false);
    expect(chunks.every((message) => message.body?.$case === 'resync')).toBe(true);
    for (const message of chunks) expect(bytes(message)).toBeLessThanOrEqual(256 * 1024);
    const resynced = new HeldView();
    const assembled = chunks.map((message) => (message.body?.$case === 'resync' ? resynced.applyChunk(message.body.value) : undefined));
    expect(sameView(assembled[assembled.length - 1], store.nodeView(nodeId))).toBe(true);
  });
});

function fail(why: string): never {
  throw new Error(why);
}

/**
 * Whether the agent holds exactly the store's view, lists compared in id order (a held
 * view keeps the order items arrived in). A yes/no: jest's diff of 11 MB would take minutes.
 */
function sameView(held: NodeView | undefined, expected: NodeView): boolean {
  const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const sorted = (view: NodeView) => ({
    ...view,
    networks: [...view.networks].sort(byId),
    sandboxes: [...view.sandboxes].sort(byId),
    endpoints: [...view.endpoints].sort(byId),
  });
  return held !== undefined && isDeepStrictEqual(sorted(held), sorted(expected));
}

async function eventually(condition: () => boolean, what: string, withinMs = 60_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
