import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ConnectNetworkRequest, ControlClient, CreateNetworkRequest } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest, type ManagerMessage } from '../../proto/gen/trellis/v1/dispatcher';
import { callUnary } from '../../proto/runtime/unary-call';
import { adminControl, joinedNodeCredentials } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { sampleValue } from '../../proto/runtime/prometheus-text';

/** A manager with --metrics-listen on loopback, written to over real gRPC and scraped over real HTTP. */

function httpGet(url: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), body }));
    }).on('error', reject);
  });
}

describe('manager metrics', () => {
  let dataDir: string;
  let manager: RunningManager;
  let control: ControlClient;
  let dispatcher: DispatcherClient;

  const scrape = async (): Promise<string> => (await httpGet(`http://${manager.metricsAddress}/metrics`)).body;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-metrics-'));
    manager = await startManager({ listen: '127.0.0.1:0', dataDir, logger: pino({ level: 'silent' }), adminDir: join(dataDir, 'admin'), metricsListen: '127.0.0.1:0' });
    control = adminControl(manager.address, join(dataDir, 'admin'));
    dispatcher = new DispatcherClient(manager.address, await joinedNodeCredentials(manager.address, join(dataDir, 'admin'), 'worker'), managerChannelOptions);
  });
  afterAll(async () => {
    control.close();
    dispatcher.close();
    await manager.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('binds the metrics address it was given, on its own port', () => {
    expect(manager.metricsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(manager.metricsAddress).not.toBe(manager.address);
  });

  it('reports raft state, proposals, sessions, nodes and attach→programmed convergence', async () => {
    const { nodeId } = await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'n1', advertiseAddr: '198.18.0.11' }), 10_000);
    // A stand-in agent: it "programs" every view at once and says so.
    const session = dispatcher.session();
    session.on('error', () => undefined);
    session.on('data', (message: ManagerMessage) => {
      const body = message.body;
      const revision = body?.$case === 'delta' ? body.value.revision : body?.$case === 'resync' && body.value.last ? body.value.part?.revision : undefined;
      if (revision !== undefined) session.write({ body: { $case: 'programmed', value: { revision, networks: {}, unprogrammedEndpointIds: [], members: [], services: {} } } });
    });
    session.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: false, gossipPublicKey: '' } } });
    try {
      await callUnary(control, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: 'blue', driver: 'overlay', subnet: '10.231.0.0/24' }), 10_000);
      await callUnary(control, (c) => c.createSandbox, { name: 'web', node: 'n1', netns: '', networkMode: '', netnsFrom: '' }, 10_000);
      await callUnary(control, (c) => c.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: 'web' }), 10_000);

      let text = await scrape();
      for (let tries = 0; sampleValue(text, 'trellis_attach_to_programmed_seconds_count') !== 1; tries++) {
        if (tries > 100) throw new Error(`the attach was never confirmed:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        text = await scrape();
      }

      expect(sampleValue(text, 'trellis_raft_is_leader')).toBe(1);
      expect(sampleValue(text, 'trellis_raft_term')).toBeGreaterThanOrEqual(1);
      expect(sampleValue(text, 'trellis_raft_proposals_total', 'result="committed"')).toBeGreaterThanOrEqual(4);
      expect(sampleValue(text, 'trellis_raft_proposals_total', 'result="failed"')).toBe(0);
      expect(sampleValue(text, 'trellis_raft_proposals_total', 'result="forwarded"')).toBe(0);
      const applied = sampleValue(text, 'trellis_raft_applied_index') ?? 0;
      expect(applied).toBeGreaterThanOrEqual(4);
      expect(sampleValue(text, 'trellis_raft_commit_index')).toBeGreaterThanOrEqual(applied);
      expect(sampleValue(text, 'trellis_raft_leader_changes_total')).toBe(1);
      expect(sampleValue(text, 'trellis_raft_members', 'role="voter"')).toBe(1);
      expect(sampleValue(text, 'trellis_raft_members', 'role="learner"')).toBe(0);
      expect(sampleValue(text, 'trellis_agent_sessions')).toBe(1);
      expect(sampleValue(text, 'trellis_nodes', 'status="ready"')).toBe(1);
      expect(sampleValue(text, 'trellis_nodes', 'status="down"')).toBe(0);
      expect(sampleValue(text, 'trellis_attach_to_programmed_seconds_bucket', 'le="10"')).toBe(1);
      expect(sampleValue(text, 'trellis_attach_unconfirmed_total', 'reason="expired"')).toBe(0);
      // The session opened holding nothing, so it got its whole view once; every change after came as a delta.
      expect(sampleValue(text, 'trellis_dispatcher_view_bytes_total', 'kind="resync"')).toBeGreaterThan(0);
      expect(sampleValue(text, 'trellis_dispatcher_view_bytes_total', 'kind="delta"')).toBeGreaterThan(0);
      expect(text).toContain('# HELP trellis_attach_to_programmed_seconds ');
      // Default process metrics come from this manager's own registry.
      expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    } finally {
      session.cancel();
    }
  });

  it('serves only /metrics', async () => {
    const metrics = await httpGet(`http://${manager.metricsAddress}/metrics?x=1`);
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect((await httpGet(`http://${manager.metricsAddress}/`)).status).toBe(404);
    expect((await httpGet(`http://${manager.metricsAddress}/metricsx`)).status).toBe(404);
  });
});
