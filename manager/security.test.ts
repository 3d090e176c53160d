import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CertificateAuthorityClient } from '../proto/gen/trellis/v1/ca';
import { ControlClient } from '../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest } from '../proto/gen/trellis/v1/dispatcher';
import {
  CertificateRenewer,
  channelCredentials,
  createKeyAndCsr,
  joinWithToken,
  JoinTokenError,
  managerChannelOptions,
  MutableCertificateProvider,
  providerChannelCredentials,
  readTlsDir,
  renewThroughManagers,
  validity,
} from '../proto/runtime/tls';
import { callUnary } from '../proto/runtime/unary-call';
import { initCluster } from './ca';
import { refused } from './api/refused';
import { adminControl, joinedNodeCredentials } from './cluster-clients';
import { startManager, type RunningManager } from './daemon';

const logger = pino({ level: 'silent' });
const timeoutMs = 10_000;

describe('a manager behind mutual TLS', () => {
  let root: string;
  let manager: RunningManager;
  const adminDir = () => join(root, 'admin');
  const clients: { close(): void }[] = [];
  const track = <C extends { close(): void }>(client: C): C => {
    clients.push(client);
    return client;
  };
  const listNetworks = (client: ControlClient) => callUnary(client, (c) => c.listNetworks, { pageSize: 0, pageToken: '' }, timeoutMs);
  const tokens = () => callUnary(track(adminControl(manager.address, adminDir())), (c) => c.getJoinTokens, {}, timeoutMs);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-security-'));
    // Six-second certificates: the manager and the node below must renew theirs during the test.
    await initCluster({ dataDir: join(root, 'm1'), adminDir: adminDir(), certValiditySeconds: 6 });
    manager = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm1'), logger });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await manager.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the admin certificate the cluster wrote at init', async () => {
    expect((await listNetworks(track(adminControl(manager.address, adminDir())))).networks).toEqual([]);
  });

  it('refuses a plaintext client', async () => {
    const plaintext = track(new ControlClient(manager.address, credentials.createInsecure()));
    expect((await refused(listNetworks(plaintext))).code).toBe(status.UNAVAILABLE);
  });

  it('refuses a client without a certificate, naming what it needs', async () => {
    const caPem = readFileSync(join(adminDir(), 'ca.crt'), 'utf8');
    const anonymous = track(new ControlClient(manager.address, channelCredentials({ caPem }), managerChannelOptions));
    const refusal = await refused(listNetworks(anonymous));
    expect(refusal.code).toBe(status.UNAUTHENTICATED);
    expect(refusal.details).toMatch(/client certificate issued by the cluster CA/);
  });

  it('refuses a client whose certificate comes from another cluster CA', async () => {
    const otherAdmin = join(root, 'other-admin');
    await initCluster({ dataDir: join(root, 'other'), adminDir: otherAdmin });
    const other = readTlsDir(otherAdmin, 'admin');
    const ours = readFileSync(join(adminDir(), 'ca.crt'), 'utf8');
    if (!other) throw new Error('the other cluster wrote no admin certificate');
    const stranger = track(new ControlClient(manager.address, channelCredentials({ ...other, caPem: ours }), managerChannelOptions));
    expect((await refused(listNetworks(stranger))).code).toBe(status.UNAUTHENTICATED);
  });

  it('lets a worker hold sessions but not drive the Control API', async () => {
    const worker = await joinedNodeCredentials(manager.address, adminDir(), 'worker');
    const refusal = await refused(listNetworks(track(new ControlClient(manager.address, worker, managerChannelOptions))));
    expect(refusal.code).toBe(status.PERMISSION_DENIED);
    expect(refusal.details).toMatch(/trellis-worker/);
    const dispatcher = track(new DispatcherClient(manager.address, worker, managerChannelOptions));
    expect((await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'w1', advertiseAddr: '198.18.0.21' }), timeoutMs)).nodeId).not.toBe('');
  });

  it("binds a worker to the node its certificate names: it registers as that node, and no other node's name or session is its", async () => {
    const join = async () => {
      const joined = await joinWithToken([manager.address], (await tokens()).worker);
      const dispatcher = track(new DispatcherClient(manager.address, channelCredentials(joined), managerChannelOptions));
      return { nodeId: joined.nodeId, dispatcher };
    };
    const first = await join();
    const register = (client: DispatcherClient, nodeName: string) => callUnary(client, (d) => d.register, RegisterRequest.fromPartial({ nodeName, advertiseAddr: '198.18.0.31' }), timeoutMs);
    expect((await register(first.dispatcher, 'bound-1')).nodeId).toBe(first.nodeId);
    // Again after a restart: same certificate, same node; but not under another name.
    expect((await register(first.dispatcher, 'bound-1')).nodeId).toBe(first.nodeId);
    expect((await refused(register(first.dispatcher, 'bound-2'))).code).toBe(status.PERMISSION_DENIED);

    const second = await join();
    const taken = await refused(register(second.dispatcher, 'bound-1'));
    expect(taken.code).toBe(status.PERMISSION_DENIED);
    expect(taken.details).toMatch(/^node_name: "bound-1" is node .*trellis node rm bound-1/);

    const session = second.dispatcher.session();
    const refusal = new Promise<ServiceError>((resolve) => session.on('error', resolve));
    session.write({ body: { $case: 'hello', value: { nodeId: first.nodeId, lastAppliedRevision: 0, assemblesDeltaParts: false, gossipPublicKey: '' } } });
    expect((await refusal).code).toBe(status.PERMISSION_DENIED);
  });

  it('refuses a wrong join token and issues nothing', async () => {
    const { worker } = await tokens();
    const forged = worker.replace(/-[a-z2-7]{26}$/, `-${'a'.repeat(26)}`);
    await expect(joinWithToken([manager.address], forged)).rejects.toThrow(JoinTokenError);
    const caPem = readFileSync(join(adminDir(), 'ca.crt'), 'utf8');
    const ca = track(new CertificateAuthorityClient(manager.address, channelCredentials({ caPem }), managerChannelOptions));
    const refusal = await refused(callUnary(ca, (c) => c.issueNodeCertificate, { joinToken: forged, csrPem: (await createKeyAndCsr()).csrPem }, timeoutMs));
    expect(refusal.code).toBe(status.UNAUTHENTICATED);
    expect(refusal.details).toMatch(/^join_token: /);
  });

  it('refuses a rotated token and accepts its replacement', async () => {
    const before = await tokens();
    const rotated = await callUnary(track(adminControl(manager.address, adminDir())), (c) => c.rotateJoinToken, { role: 'worker' }, timeoutMs);
    expect(rotated.worker).not.toBe(before.worker);
    expect(rotated.manager).toBe(before.manager);
    await expect(joinWithToken([manager.address], before.worker)).rejects.toThrow(JoinTokenError);
    expect((await joinWithToken([manager.address], rotated.worker)).role).toBe('trellis-worker');
  });

  it('renews certificates before they lapse: a node keeps calling long after its first certificate expired', async () => {
    const joined = await joinWithToken([manager.address], (await tokens()).worker);
    const dir = join(root, 'node-tls');
    const provider = new MutableCertificateProvider({ ...joined, certChainPem: joined.certPem });
    const renewer = new CertificateRenewer(dir, provider, renewThroughManagers(() => manager.address, provider), logger);
    renewer.start(joined);
    try {
      const firstExpiry = validity(joined.certPem).notAfter.getTime();
      while (Date.now() < firstExpiry + 1_000) await new Promise((resolve) => setTimeout(resolve, 250));
      const renewed = readTlsDir(dir, 'node');
      expect(renewed && validity(renewed.certPem).notAfter.getTime()).toBeGreaterThan(firstExpiry);
      // A new connection, with whatever the provider holds now; the manager's own certificate was renewed too.
      const dispatcher = track(new DispatcherClient(manager.address, providerChannelCredentials(provider), managerChannelOptions));
      expect((await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'w2', advertiseAddr: '198.18.0.22' }), timeoutMs)).nodeId).not.toBe('');
    } finally {
      renewer.stop();
    }
  });
});
