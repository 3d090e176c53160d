import type { ChannelCredentials } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ConnectNetworkRequest, CreateNetworkRequest, CreateServiceRequest, UpdateServiceRequest, type ControlClient } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest, type EndpointReadiness, type ManagerMessage, type NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';
import { ManagerSession } from '../../agent/session/manager-session';
import { freePort } from '../../bench/raft/processes';
import { adminControl, joinedNodeCredentials } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';

/*
 * Readiness as agents receive it, over real gRPC from a real manager: nodes b and c run the agent's
 * own session (taking each view as programmed at once, like a converged agent); node a is a bare
 * Dispatcher session whose every message the test reads. One network, one endpoint per node.
 */
const timeoutMs = 10_000;

interface Behaviour {
  /** Endpoints it reports it could not program. */
  unprogrammed(): string[];
  /** Whether it reports the views it gets. */
  reporting(): boolean;
}

/** An agent session for `node` that reports each view programmed at once (as `behaviour` says). */
function fakeAgent(address: string, credentials: ChannelCredentials, node: string, behaviour: Partial<Behaviour> = {}): { session: ManagerSession; views: NodeView[] } {
  const { unprogrammed = () => [], reporting = () => true } = behaviour;
  const views: NodeView[] = [];
  const session: ManagerSession = new ManagerSession({
    managers: [address],
    credentials,
    nodeName: node,
    advertiseAddr: `198.18.0.${node.charCodeAt(0)}`,
    gatewaySubnet: '',
    reservedPorts: [],
    logger: pino({ level: 'silent' }),
    onView: (view) => {
      views.push(view);
      if (reporting()) session.reportProgrammed(view, unprogrammed());
    },
    onTrust: () => undefined,
  });
  session.start();
  return { session, views };
}

/** A bare session of node a: every message it receives, and a way to wait for the next readiness ones. */
class BareSession {
  readonly readiness: EndpointReadiness[] = [];
  readonly views: NodeView[] = [];
  /** The kind of every message, in order. */
  readonly kinds: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly client: DispatcherClient;
  private readonly stream;

  constructor(address: string, credentials: ChannelCredentials, nodeId: string) {
    this.client = new DispatcherClient(address, credentials, managerChannelOptions);
    this.stream = this.client.session();
    this.stream.on('data', (message: ManagerMessage) => {
      const body = message.body;
      this.kinds.push(body?.$case ?? '');
      if (body?.$case === 'readiness') this.readiness.push(body.value);
      if (body?.$case === 'resync' && body.value.last && body.value.part) this.views.push(body.value.part);
      if (body?.$case === 'delta') this.views.push({ ...body.value, nodeId, networks: [], sandboxes: [], endpoints: [], overlaySubnets: [], services: [] });
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.stream.on('error', () => undefined);
    this.stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: true, gossipPublicKey: '' } } });
  }

  report(revision: number, networks: Record<string, number>): void {
    this.stream.write({ body: { $case: 'programmed', value: { revision, networks, unprogrammedEndpointIds: [], members: [], services: {} } } });
  }

  /** Resolves once `condition` holds over the messages received. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}

/** The ready set an agent holds after these messages, in order. */
function readySet(messages: readonly EndpointReadiness[]): Set<string> {
  const ready = new Set<string>();
  for (const message of messages) {
    if (message.replace) ready.clear();
    for (const id of message.readyEndpointIds) ready.add(id);
    for (const id of message.unreadyEndpointIds) ready.delete(id);
  }
  return ready;
}

const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('readiness pushed to agent sessions', () => {
  let root: string;
  let manager: RunningManager;
  let control: ControlClient;
  let bare: BareSession | undefined;
  const agents: ManagerSession[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-readiness-'));
    manager = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm1'), adminDir: join(root, 'admin'), logger: pino({ level: 'silent' }) });
    control = adminControl(manager.address, join(root, 'admin'));
  });
  afterAll(async () => {
    bare?.close();
    for (const agent of agents) agent.stop();
    control.close();
    await manager.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('sends the whole ready set when a session opens, then each change: another agent reporting, an unprogrammed endpoint, a node going down', async () => {
    // A manager's certificate may act for any node.
    const credentials = await joinedNodeCredentials(manager.address, join(root, 'admin'), 'manager');
    let cUnprogrammed: string[] = [];
    const b = fakeAgent(manager.address, credentials, 'b');
    const c = fakeAgent(manager.address, credentials, 'c', { unprogrammed: () => cUnprogrammed });
    agents.push(b.session, c.session);
    await eventually(() => b.views.length > 0 && c.views.length > 0, 'b and c have registered');
    const dispatcher = new DispatcherClient(manager.address, credentials, managerChannelOptions);
    const { nodeId: aId } = await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'a', advertiseAddr: '198.18.0.97' }), timeoutMs);
    dispatcher.close();

    await callUnary(control, (api) => api.createNetwork, CreateNetworkRequest.fromPartial({ name: 'blue', subnet: '10.30.0.0/24' }), timeoutMs);
    const endpoint: Record<string, string> = {};
    for (const node of ['a', 'b', 'c']) {
      await callUnary(control, (api) => api.createSandbox, { name: `s-${node}`, node, netns: '', networkMode: '', netnsFrom: '' }, timeoutMs);
      const connected = await callUnary(control, (api) => api.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: `s-${node}` }), timeoutMs);
      endpoint[node] = connected.id;
    }
    const [epA, epB, epC] = [endpoint.a ?? '', endpoint.b ?? '', endpoint.c ?? ''];
    // Node a has no session: it is down, so its endpoint is not ready and it is not waited for.
    await eventually(() => sorted(b.session.readyEndpoints()).join() === sorted([epB, epC]).join(), "b's agent holds b's and c's endpoints ready");

    const a = new BareSession(manager.address, credentials, aId);
    bare = a;
    await a.until(() => a.readiness.length > 0 && a.views.length > 0);
    // Whole set first, after the view. a is live but has reported nothing: its own endpoint is not
    // ready, and the others do not wait for it (it is joining blue).
    expect(a.kinds.indexOf('readiness')).toBeGreaterThan(a.kinds.lastIndexOf('resync'));
    expect(a.readiness[0]?.replace).toBe(true);
    expect(sorted(a.readiness[0]?.readyEndpointIds ?? [])).toEqual(sorted([epB, epC]));
    const view = a.views[0] ?? fail('no view');
    expect(sorted(view.endpoints.map((e) => e.id))).toEqual(sorted([epA, epB, epC]));

    a.report(view.revision, Object.fromEntries(view.networks.map((network) => [network.id, view.revision])));
    await a.until(() => readySet(a.readiness).size === 3);
    expect(a.readiness.slice(1)).toEqual([{ replace: false, readyEndpointIds: [epA], unreadyEndpointIds: [] }]);
    await eventually(() => b.session.readyEndpoints().size === 3, "b's agent holds a's endpoint ready too");

    // c cannot program b's endpoint: it is not ready anywhere while c is live.
    cUnprogrammed = [epB];
    c.session.reportProgrammed(c.views[c.views.length - 1] ?? fail('c has no view'), cUnprogrammed);
    await a.until(() => !readySet(a.readiness).has(epB));
    expect(sorted(readySet(a.readiness))).toEqual(sorted([epA, epC]));
    expect(a.readiness[a.readiness.length - 1]).toEqual({ replace: false, readyEndpointIds: [], unreadyEndpointIds: [epB] });

    // c goes down: its own endpoint is no longer ready, and b's no longer waits for it.
    c.session.stop();
    await a.until(() => readySet(a.readiness).has(epB));
    expect(sorted(readySet(a.readiness))).toEqual(sorted([epA, epB]));
    await eventually(() => sorted(b.session.readyEndpoints()).join() === sorted([epA, epB]).join(), "b's agent holds the same set");
  }, 60_000);

  it('reaches a node without the network of an ingress service with its backends and each readiness change, from its first view, as ports come and go', async () => {
    const credentials = await joinedNodeCredentials(manager.address, join(root, 'admin'), 'manager');
    const [w, x, y] = ['w', 'x', 'y'].map((node) => fakeAgent(manager.address, credentials, node));
    if (!w || !x || !y) throw new Error('no agents');
    agents.push(w.session, x.session, y.session);
    await eventually(() => w.views.length > 0 && x.views.length > 0 && y.views.length > 0, 'w, x and y have registered');
    await callUnary(control, (api) => api.createNetwork, CreateNetworkRequest.fromPartial({ name: 'green', subnet: '10.32.0.0/24' }), timeoutMs);
    const ingress = { protocol: 'tcp', targetPort: 80, publishedPort: 8480, publishMode: 'ingress' };
    await callUnary(control, (api) => api.createService, CreateServiceRequest.fromPartial({ name: 'front', networks: ['green'], ports: [ingress], drainTimeoutSeconds: 0 }), timeoutMs);
    const backends: string[] = [];
    for (const node of ['w', 'x']) {
      await callUnary(control, (api) => api.createSandbox, { name: `f-${node}`, node, netns: '', networkMode: '', netnsFrom: '' }, timeoutMs);
      const connected = await callUnary(control, (api) => api.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'green', sandbox: `f-${node}`, service: 'front' }), timeoutMs);
      backends.push(connected.id);
    }
    const [epW, epX] = [backends[0] ?? '', backends[1] ?? ''];
    const lastView = (agent: { views: NodeView[] }): NodeView => agent.views[agent.views.length - 1] ?? fail('no view');

    // y hosts nothing: it holds the service and both backends, ready, and no network.
    await eventually(() => sorted(y.session.readyEndpoints()).join() === sorted([epW, epX]).join(), 'y holds both backends ready');
    expect(lastView(y)).toMatchObject({ networks: [], services: [expect.objectContaining({ name: 'front', vips: [] })] });
    expect(sorted(lastView(y).endpoints.map((endpoint) => endpoint.id))).toEqual(sorted([epW, epX]));
    // A node whose session opens now gets them in its whole set.
    const z = fakeAgent(manager.address, credentials, 'z');
    agents.push(z.session);
    await eventually(() => sorted(z.session.readyEndpoints()).join() === sorted([epW, epX]).join(), 'z holds both backends ready from its first view');

    // x goes down: its backend is no longer ready on y either.
    x.session.stop();
    await eventually(() => sorted(y.session.readyEndpoints()).join() === epW, "y no longer holds x's backend ready");

    // The last ingress port goes: y drops the service and its backends; it comes back: y holds them, ready, again.
    await callUnary(control, (api) => api.updateService, UpdateServiceRequest.fromPartial({ service: 'front', publishRm: [ingress] }), timeoutMs);
    await eventually(() => lastView(y).services.length === 0 && lastView(y).endpoints.length === 0 && y.session.readyEndpoints().size === 0, 'y drops the service');
    await callUnary(control, (api) => api.updateService, UpdateServiceRequest.fromPartial({ service: 'front', publishAdd: [ingress] }), timeoutMs);
    await eventually(() => sorted(y.session.readyEndpoints()).join() === epW, "y holds w's backend ready again");
    expect(sorted(lastView(y).endpoints.map((endpoint) => endpoint.id))).toEqual(sorted([epW, epX]));
  }, 60_000);
});

describe('readiness across a manager restart', () => {
  let root: string;
  let address: string;
  let manager: RunningManager | undefined;
  let control: ControlClient | undefined;
  const agents: ManagerSession[] = [];
  const start = async (): Promise<RunningManager> =>
    (manager = await startManager({ listen: address, dataDir: join(root, 'm1'), adminDir: join(root, 'admin'), logger: pino({ level: 'silent' }) }));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-readiness-restart-'));
    address = `127.0.0.1:${await freePort()}`;
    await start();
    control = adminControl(address, join(root, 'admin'));
  });
  afterAll(async () => {
    for (const agent of agents) agent.stop();
    control?.close();
    await manager?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('an agent keeps its ready set while the manager is away, then gets a whole one, and its last report counts for the new manager at once', async () => {
    const api = control ?? fail('no control client');
    const credentials = await joinedNodeCredentials(address, join(root, 'admin'), 'manager');
    let bReports = true;
    const b = fakeAgent(address, credentials, 'b', { reporting: () => bReports });
    const c = fakeAgent(address, credentials, 'c');
    agents.push(b.session, c.session);
    await eventually(() => b.views.length > 0 && c.views.length > 0, 'b and c have registered');
    await callUnary(api, (call) => call.createNetwork, CreateNetworkRequest.fromPartial({ name: 'blue', subnet: '10.31.0.0/24' }), timeoutMs);
    const ids: string[] = [];
    for (const node of ['b', 'c']) {
      await callUnary(api, (call) => call.createSandbox, { name: `s-${node}`, node, netns: '', networkMode: '', netnsFrom: '' }, timeoutMs);
      ids.push((await callUnary(api, (call) => call.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: `s-${node}` }), timeoutMs)).id);
    }
    const both = sorted(ids).join();
    await eventually(() => sorted(b.session.readyEndpoints()).join() === both && sorted(c.session.readyEndpoints()).join() === both, 'both endpoints ready');

    // From now on b reports nothing new: only its last report, told to each new session, says what it programmed.
    bReports = false;
    const viewsBefore = [b.views.length, c.views.length];
    await (manager ?? fail('no manager')).close();
    expect(sorted(b.session.readyEndpoints()).join()).toBe(both);
    await start();
    await eventually(() => b.views.length > (viewsBefore[0] ?? 0) && c.views.length > (viewsBefore[1] ?? 0), 'b and c resumed with the new manager');
    // The new manager knew nothing of b's programming but what b's session told it again.
    const readyOnBlue = async (): Promise<string> => {
      const network = await callUnary(api, (call) => call.getNetwork, { network: 'blue' }, timeoutMs);
      return sorted(network.endpoints.filter((endpoint) => endpoint.ready).map((endpoint) => endpoint.id)).join();
    };
    let ready = '';
    while (ready !== both) ready = await readyOnBlue();
    await eventually(() => sorted(c.session.readyEndpoints()).join() === both, "c holds b's endpoint ready");
    expect(sorted(b.session.readyEndpoints()).join()).toBe(both);
  }, 60_000);
});

function fail(why: string): never {
  throw new Error(why);
}
