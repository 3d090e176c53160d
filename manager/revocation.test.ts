import { status, type ServiceError } from '@grpc/grpc-js';
import { join } from 'node:path';
import pino from 'pino';
import { CertificateAuthorityClient } from '../proto/gen/trellis/v1/ca';
import { ControlClient, ListNetworksRequest, ListNodesRequest } from '../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest, type ManagerMessage } from '../proto/gen/trellis/v1/dispatcher';
import { channelCredentials, createKeyAndCsr, joinWithToken, managerChannelOptions, readTlsDir, type TlsMaterial } from '../proto/runtime/tls';
import { callUnary } from '../proto/runtime/unary-call';
import { MANAGER_TLS_DIR } from './ca';
import { refused } from './api/refused';
import { startManager } from './daemon';
import { TestManager } from './test-manager';

/** Real managers over gRPC with mutual TLS, in this process; the nodes are clients holding certificates the CA issued. */
const logger = pino({ level: 'silent' });
const timeoutMs = 10_000;
const revokedByNodeRm = /^this certificate's node \S+ is revoked \(removed by trellis node rm\); a node joins again only with a join token/;

describe('revocation: a removed node loses its identity', () => {
  let cluster: TestManager;
  const manager = () => cluster.manager;
  const track = <C extends { close(): void }>(client: C): C => cluster.track(client);
  const admin = () => cluster.admin();

  async function joinedWorker(): Promise<TlsMaterial & { nodeId: string }> {
    const tokens = await callUnary(admin(), (c) => c.getJoinTokens, {}, timeoutMs);
    return joinWithToken([manager().address], tokens.worker);
  }
  const dispatcherOf = (material: TlsMaterial) => track(new DispatcherClient(manager().address, channelCredentials(material), managerChannelOptions));
  const register = (material: TlsMaterial, nodeName: string) =>
    callUnary(dispatcherOf(material), (d) => d.register, RegisterRequest.fromPartial({ nodeName, advertiseAddr: '198.18.0.41' }), timeoutMs);
  const renew = async (material: TlsMaterial) => {
    const ca = track(new CertificateAuthorityClient(manager().address, channelCredentials(material), managerChannelOptions));
    return callUnary(ca, (c) => c.renewNodeCertificate, { csrPem: (await createKeyAndCsr()).csrPem }, timeoutMs);
  };
  /** Opens a session as `nodeId`; resolves with the first view message, or the error that ended the stream. */
  function openSession(material: TlsMaterial, nodeId: string) {
    const stream = dispatcherOf(material).session();
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    const firstView = new Promise<ManagerMessage>((resolve) =>
      stream.on('data', (message: ManagerMessage) => message.body?.$case === 'resync' && resolve(message)),
    );
    stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: true, gossipPublicKey: '' } } });
    return { stream, ended, firstView: Promise.race([firstView, ended]) };
  }

  beforeAll(async () => {
    cluster = await TestManager.start('trellis-revocation-');
  });
  afterAll(() => cluster.close());

  it("cuts a removed node's session and refuses its certificate on renewal, registration and session; other nodes keep theirs", async () => {
    const doomed = await joinedWorker();
    const bystander = await joinedWorker();
    expect((await register(doomed, 'doomed')).nodeId).toBe(doomed.nodeId);
    expect((await register(bystander, 'bystander')).nodeId).toBe(bystander.nodeId);
    const session = openSession(doomed, doomed.nodeId);
    expect(await session.firstView).toMatchObject({ body: { $case: 'resync' } });

    await callUnary(admin(), (c) => c.removeNode, { node: 'doomed', force: true }, timeoutMs);

    const cut = await session.ended;
    expect(cut.code).toBe(status.UNAUTHENTICATED);
    expect(cut.details).toMatch(revokedByNodeRm);
    for (const refusal of [await refused(renew(doomed)), await refused(register(doomed, 'doomed-again'))]) {
      expect(refusal.code).toBe(status.UNAUTHENTICATED);
      expect(refusal.details).toMatch(revokedByNodeRm);
    }
    const again = await openSession(doomed, doomed.nodeId).ended;
    expect(again.code).toBe(status.UNAUTHENTICATED);
    expect(again.details).toMatch(revokedByNodeRm);
    const names = (await callUnary(admin(), (c) => c.listNodes, ListNodesRequest.fromPartial({}), timeoutMs)).nodes.map((node) => node.name);
    expect(names).toEqual(['bystander']);

    expect((await renew(bystander)).nodeId).toBe(bystander.nodeId);
    expect((await register(bystander, 'bystander')).nodeId).toBe(bystander.nodeId);
  });

  it('lets the removed machine join again, as a new node, with a token and a new key', async () => {
    const doomed = await joinedWorker();
    await register(doomed, 'phoenix');
    await callUnary(admin(), (c) => c.removeNode, { node: 'phoenix', force: true }, timeoutMs);
    const rejoined = await joinedWorker();
    expect(rejoined.nodeId).not.toBe(doomed.nodeId);
    expect((await register(rejoined, 'phoenix')).nodeId).toBe(rejoined.nodeId);
  });

  it("refuses a removed manager's certificate on every call to the managers that remain", async () => {
    const tokens = await callUnary(admin(), (c) => c.getJoinTokens, {}, timeoutMs);
    const dataDir = join(cluster.root, 'm2');
    const second = await startManager({ listen: '127.0.0.1:0', dataDir, join: manager().address, joinToken: tokens.manager, logger });
    const material = readTlsDir(join(dataDir, MANAGER_TLS_DIR), 'node');
    if (!material) throw new Error('the joining manager wrote no certificate');
    const asSecond = track(new ControlClient(manager().address, channelCredentials(material), managerChannelOptions));
    expect((await callUnary(asSecond, (c) => c.listNetworks, ListNetworksRequest.fromPartial({}), timeoutMs)).networks).toEqual([]);

    await callUnary(admin(), (c) => c.removeManager, { id: second.id }, timeoutMs);
    await second.close();

    const refusal = await refused(callUnary(asSecond, (c) => c.listNetworks, ListNetworksRequest.fromPartial({}), timeoutMs));
    expect(refusal.code).toBe(status.UNAUTHENTICATED);
    expect(refusal.details).toBe(`this certificate's node ${second.id} is revoked (removed by trellis manager leave); a node joins again only with a join token and an empty state directory`);
  });
});
