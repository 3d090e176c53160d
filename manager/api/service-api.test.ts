import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectNetworkRequest, ControlClient, CreateNetworkRequest, CreateServiceRequest, UpdateServiceRequest } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest, type AgentMessage } from '../../proto/gen/trellis/v1/dispatcher';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ManagerMessage } from '../../proto/gen/trellis/v1/dispatcher';
import { status } from '@grpc/grpc-js';
import { callUnary, type UnaryMethod } from '../../proto/runtime/unary-call';
import { startManager, type RunningManager } from '../daemon';
import pino from 'pino';
import { adminControl } from '../cluster-clients';
import { startApiManager, stopApiManager } from './test-api-manager';
import { refused } from './refused';

/*
 * Services through the Control API over real gRPC, the log on a real disk: drain and idle timeouts,
 * `service update`, backends draining when they leave and the leader ending their drains (also after
 * a restart), and what the agents reported (readiness, per-node programming).
 */

const connect = ConnectNetworkRequest.fromPartial;
const service = CreateServiceRequest.fromPartial;
const update = UpdateServiceRequest.fromPartial;

async function refusal(promise: Promise<unknown>): Promise<{ code: string; field: string; message: string }> {
  const error = await refused(promise);
  return { code: status[error.code], field: String(error.metadata.get('trellis-field')[0] ?? ''), message: error.details };
}

/** Polls `check` until it holds: what the leader does on its own (ending a drain) happens after the call that started it. */
async function eventually(what: string, check: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('services through the Control API', () => {
  let dataDir: string;
  let manager: RunningManager;
  let control: ControlClient;
  let dispatcher: DispatcherClient;
  let nodeId: string;

  const rpc = <Req, Res>(pick: (client: ControlClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> => callUnary(control, pick, request, 10_000);

  async function start(): Promise<void> {
    ({ manager, control, dispatcher } = await startApiManager(dataDir));
  }
  const stop = () => stopApiManager({ manager, control, dispatcher });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-services-'));
    await start();
    ({ nodeId } = await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'n1', advertiseAddr: '198.18.0.11' }), 10_000));
    await rpc((c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: 'blue', subnet: '10.232.0.0/24' }));
    await rpc((c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: 'green', subnet: '10.233.0.0/24' }));
  });
  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A new sandbox on n1 connected to blue as a backend of `of`. */
  async function backend(name: string, of: string): Promise<void> {
    await rpc((c) => c.createSandbox, { name, node: 'n1', netns: '', networkMode: '', netnsFrom: '' });
    await rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: name, service: of }));
  }
  const endpointOf = async (sandbox: string) => (await rpc((c) => c.getSandbox, { sandbox })).endpoints[0];

  it('creates a service with the default timeouts, or the ones given', async () => {
    expect(await rpc((c) => c.createService, service({ name: 'plain', networks: ['blue'] }))).toMatchObject({
      drainTimeoutSeconds: 30, tcpIdleTimeoutSeconds: 86_400, udpIdleTimeoutSeconds: 900,
    });
    const tuned = await rpc((c) => c.createService, service({ name: 'tuned', networks: ['green'], drainTimeoutSeconds: 0, tcpIdleTimeoutSeconds: 7200, udpIdleTimeoutSeconds: 30 }));
    expect(await rpc((c) => c.getService, { service: 'tuned' })).toMatchObject({ drainTimeoutSeconds: 0, tcpIdleTimeoutSeconds: 7200, udpIdleTimeoutSeconds: 30, updatedRevision: tuned.createdRevision });
    const refusedCreate = await refusal(rpc((c) => c.createService, service({ name: 'bad', networks: ['blue'], tcpIdleTimeoutSeconds: 0 })));
    expect(refusedCreate).toEqual({ code: 'INVALID_ARGUMENT', field: 'tcp_idle_timeout_seconds', message: expect.stringContaining('give 1 to 604800') });
    expect((await rpc((c) => c.listServices, { pageSize: 0, pageToken: '' })).services.map((listed) => listed.name)).toEqual(['plain', 'tuned']);
  });

  it('updates published ports and timeouts, keeping VIPs and backends', async () => {
    await rpc((c) => c.createService, service({ name: 'web', networks: ['blue'], ports: [{ targetPort: 80, publishedPort: 8080 }] }));
    await backend('web-1', 'web');
    const before = await rpc((c) => c.getService, { service: 'web' });
    const updated = await rpc((c) => c.updateService, update({ service: 'web', publishRm: [{ publishedPort: 8080 }], publishAdd: [{ targetPort: 80, publishedPort: 8081, protocol: 'tcp' }], drainTimeoutSeconds: 5 }));
    expect(updated).toMatchObject({ vips: before.vips, drainTimeoutSeconds: 5, ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8081, publishMode: 'ingress' }] });
    expect(updated.backends.map((endpoint) => endpoint.sandboxName)).toEqual(['web-1']);
    expect(updated.updatedRevision).toBeGreaterThan(before.updatedRevision);
    expect(await rpc((c) => c.getService, { service: 'web' })).toMatchObject({ ports: updated.ports, updatedRevision: updated.updatedRevision });
  });

  it.each([
    ['a port the service does not publish', update({ service: 'web', publishRm: [{ publishedPort: 9999 }] }), 'INVALID_ARGUMENT', 'publish_rm', 'publish_rm: 9999/tcp is not published by service "web"'],
    ['an unknown service', update({ service: 'nope', drainTimeoutSeconds: 1 }), 'NOT_FOUND', 'service', 'service: no service named or with id "nope"'],
    ['a drain timeout over a day', update({ service: 'web', drainTimeoutSeconds: 90_000 }), 'INVALID_ARGUMENT', 'drain_timeout_seconds', 'give 0 to 86400'],
    ['nothing to change', update({ service: 'web' }), 'INVALID_ARGUMENT', 'service', 'nothing to change'],
  ])('refuses an update of %s, naming the field, and changes nothing', async (_, request, code, field, message) => {
    const before = await rpc((c) => c.getService, { service: 'web' });
    expect(await refusal(rpc((c) => c.updateService, request))).toEqual({ code, field, message: expect.stringContaining(message) });
    expect(await rpc((c) => c.getService, { service: 'web' })).toEqual(before);
  });

  it("refuses publishing the manager's own port in an update", async () => {
    const port = Number(manager.address.split(':').pop());
    const error = await refusal(rpc((c) => c.updateService, update({ service: 'web', publishAdd: [{ targetPort: 80, publishedPort: port }] })));
    expect(error).toEqual({ code: 'INVALID_ARGUMENT', field: 'publish_add', message: `publish_add: ${port}/tcp is the port of manager ${manager.address} (its gRPC API and Raft); publish another port` });
  });

  it('drains a disconnected backend for the drain timeout; a second disconnect is accepted; --force ends it', async () => {
    await rpc((c) => c.createService, service({ name: 'api', networks: ['blue'] }));
    await backend('api-1', 'api');
    const ip = (await endpointOf('api-1'))?.ip;
    const disconnectedAt = Date.now();
    await rpc((c) => c.disconnectNetwork, { network: 'blue', sandbox: 'api-1', force: false });
    const draining = await endpointOf('api-1');
    expect(draining).toMatchObject({ draining: true, ip, interfaceName: 'eth0' });
    const endsAt = Date.parse(draining?.drainEndsAt ?? '');
    expect(endsAt).toBeGreaterThanOrEqual(disconnectedAt + 30_000);
    expect(endsAt).toBeLessThanOrEqual(Date.now() + 30_000);
    expect((await rpc((c) => c.getService, { service: 'api' })).backends).toEqual([expect.objectContaining({ sandboxName: 'api-1', draining: true })]);

    await rpc((c) => c.disconnectNetwork, { network: 'blue', sandbox: 'api-1', force: false });
    expect((await endpointOf('api-1'))?.drainEndsAt).toBe(draining?.drainEndsAt);
    expect(await refusal(rpc((c) => c.removeService, { service: 'api' }))).toEqual({ code: 'FAILED_PRECONDITION', field: 'service', message: expect.stringContaining('draining until') });
    expect(await refusal(rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'api-1', service: 'api' })))).toEqual({
      code: 'FAILED_PRECONDITION', field: 'sandbox', message: expect.stringContaining('--force blue api-1'),
    });

    await rpc((c) => c.disconnectNetwork, { network: 'blue', sandbox: 'api-1', force: true });
    expect(await endpointOf('api-1')).toBeUndefined();
    await rpc((c) => c.removeService, { service: 'api' });
  });

  it("ends drains on the leader: a backend leaves once its service's drain timeout has passed", async () => {
    await rpc((c) => c.createService, service({ name: 'quick', networks: ['blue'], drainTimeoutSeconds: 1 }));
    await backend('quick-1', 'quick');
    await rpc((c) => c.disconnectNetwork, { network: 'blue', sandbox: 'quick-1', force: false });
    expect((await endpointOf('quick-1'))?.draining).toBe(true);
    await eventually('the end of the drain', async () => (await endpointOf('quick-1')) === undefined);
    expect((await rpc((c) => c.getService, { service: 'quick' })).backends).toEqual([]);
  });

  it('counts ready backends and shows which nodes programmed the service, from the agents\' reports', async () => {
    await rpc((c) => c.createService, service({ name: 'shown', networks: ['blue'], drainTimeoutSeconds: 0 }));
    await backend('shown-1', 'shown');
    const shown = await rpc((c) => c.getService, { service: 'shown' });
    expect(shown).toMatchObject({ readyBackends: 0, programming: [{ node: 'n1', live: false, programmed: false, programmedRevision: 0 }] });

    const session: ClientDuplexStream<AgentMessage, ManagerMessage> = dispatcher.session();
    session.on('error', () => undefined);
    session.on('data', () => undefined);
    try {
      session.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: false, gossipPublicKey: '' } } });
      const revision = shown.updatedRevision + 10;
      const blue = shown.backends[0]?.networkId ?? '';
      session.write({ body: { $case: 'programmed', value: { revision, networks: { [blue]: revision }, unprogrammedEndpointIds: [], members: [], services: { [shown.id]: shown.updatedRevision } } } });
      await eventually('the report to arrive', async () => (await rpc((c) => c.getService, { service: 'shown' })).readyBackends === 1);
      expect(await rpc((c) => c.getService, { service: 'shown' })).toMatchObject({
        readyBackends: 1,
        backends: [expect.objectContaining({ sandboxName: 'shown-1', ready: true, draining: false })],
        programming: [{ node: 'n1', live: true, programmed: true, programmedRevision: shown.updatedRevision }],
      });
      const listed = (await rpc((c) => c.listServices, { pageSize: 0, pageToken: '' })).services.find((listedService) => listedService.name === 'shown');
      expect(listed).toMatchObject({ readyBackends: 1, backends: [expect.objectContaining({ ready: true })] });
      // An update is a new revision of the service, which n1 has not programmed yet.
      const updated = await rpc((c) => c.updateService, update({ service: 'shown', udpIdleTimeoutSeconds: 60 }));
      expect(updated.programming).toEqual([{ node: 'n1', live: true, programmed: false, programmedRevision: shown.updatedRevision }]);
    } finally {
      session.cancel();
    }
  });

  it('answers the same programming through a follower, which asks the leader for it', async () => {
    const joinToken = (await rpc((c) => c.getJoinTokens, {})).manager;
    const follower = await startManager({ listen: '127.0.0.1:0', dataDir: join(dataDir, 'm2'), join: manager.address, joinToken, adminDir: join(dataDir, 'admin'), logger: pino({ level: 'silent' }) });
    const viaFollower = adminControl(follower.address, join(dataDir, 'admin'));
    try {
      const fromLeader = await rpc((c) => c.getService, { service: 'shown' });
      expect(fromLeader.programming[0]?.programmedRevision).toBeGreaterThan(0);
      let fromFollower: typeof fromLeader | undefined;
      await eventually('the follower to answer', async () => {
        fromFollower = await callUnary(viaFollower, (c) => c.getService, { service: 'shown' }, 10_000).catch(() => undefined);
        return fromFollower !== undefined;
      });
      expect(fromFollower?.programming).toEqual(fromLeader.programming);
    } finally {
      viaFollower.close();
      // Out of the membership again, so that the one manager left keeps its quorum. Its join may
      // still be a pending membership change (Raft takes one at a time): try until it is not.
      await eventually('the follower to leave the membership', () =>
        rpc((c) => c.removeManager, { id: follower.id }).then(
          () => true,
          (error: { message?: string }) => {
            if (/membership change is still pending/.test(error.message ?? '')) return false;
            throw error;
          },
        ),
      );
      await follower.close();
    }
  });

  it('removes a sandbox whose backends drain once the last drain ends, showing it as removing meanwhile; also across a restart', async () => {
    await rpc((c) => c.createService, service({ name: 'slow', networks: ['blue'], drainTimeoutSeconds: 2 }));
    await backend('slow-1', 'slow');
    await rpc((c) => c.connectNetwork, connect({ network: 'green', sandbox: 'slow-1' }));
    await rpc((c) => c.removeSandbox, { sandbox: 'slow-1' });
    const removing = await rpc((c) => c.getSandbox, { sandbox: 'slow-1' });
    expect(removing).toMatchObject({ removing: true, endpoints: [expect.objectContaining({ networkName: 'blue', draining: true })] });
    expect(await refusal(rpc((c) => c.removeNetwork, { network: 'blue' }))).toEqual({ code: 'FAILED_PRECONDITION', field: 'network', message: expect.stringContaining('"slow-1" (draining until') });
    // The manager restarts (a new leader): the drain is in the records, and ends all the same.
    await stop();
    await start();
    await eventually('the removal of slow-1', async () => (await refusal(rpc((c) => c.getSandbox, { sandbox: 'slow-1' })).catch(() => ({ code: 'FOUND' }))).code === 'NOT_FOUND');
  });
});
