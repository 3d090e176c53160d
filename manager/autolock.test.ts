import { makeGenericClientConstructor, status, type ChannelCredentials, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { service as healthService } from 'grpc-health-check';
import { CertificateAuthorityClient } from '../proto/gen/trellis/v1/ca';
import { ControlClient, ListNetworksRequest } from '../proto/gen/trellis/v1/control';
import { DispatcherClient } from '../proto/gen/trellis/v1/dispatcher';
import { RaftClient } from '../proto/gen/trellis/v1/raft';
import { managerChannelOptions } from '../proto/runtime/tls';
import { callUnary } from '../proto/runtime/unary-call';
import { refused } from './api/refused';
import { initCluster } from './ca';
import { adminControl, adminCredentials, joinedNodeCredentials } from './cluster-clients';
import { startManager, type RunningManager } from './daemon';
import { readKeyFile } from './secrets/key-file';

const timeoutMs = 10_000;
const logger = pino({ level: 'silent' });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface HealthReply {
  status: string | number;
}
type HealthClient = InstanceType<ReturnType<typeof makeGenericClientConstructor>> & {
  check(request: { service: string }, callback: (error: Error | null, reply: HealthReply) => void): void;
};

describe('autolock (one manager, real disk, real gRPC)', () => {
  let root: string;
  let address: string;
  let manager: RunningManager | undefined;
  const dataDir = () => join(root, 'm1');
  const adminDir = () => join(root, 'admin');
  const clients: { close(): void }[] = [];
  const control = (): ControlClient => {
    const client = adminControl(address, adminDir());
    clients.push(client);
    return client;
  };
  const start = () => startManager({ listen: address, dataDir: dataDir(), logger });
  const health = async (): Promise<string> => {
    const Client = makeGenericClientConstructor(healthService as unknown as ServiceDefinition, 'Health');
    const client = new Client(address, adminCredentials(adminDir()), managerChannelOptions) as HealthClient;
    clients.push(client);
    const reply = await new Promise<HealthReply>((resolve, reject) => client.check({ service: '' }, (error, answer) => (error ? reject(error) : resolve(answer))));
    return String(reply.status);
  };
  const unlock = (unlockKey: string) => callUnary(control(), (c) => c.unlockManager, { unlockKey }, timeoutMs);
  const listNetworks = () => callUnary(control(), (c) => c.listNetworks, ListNetworksRequest.fromPartial({}), timeoutMs);

  /** Starts the manager again, which stays locked: startManager resolves only once it is unlocked (wrapped, so awaiting this does not wait for it). */
  async function restartLocked(): Promise<{ starting: Promise<RunningManager> }> {
    await manager?.close();
    manager = undefined;
    const starting = start();
    // Locked: the port answers, with a refusal.
    let last = '';
    for (let attempt = 0; attempt < 200; attempt++) {
      const error = await refused(listNetworks());
      if (error.code === status.FAILED_PRECONDITION) return { starting };
      last = `${status[error.code]}: ${error.details}`;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the restarted manager never answered as locked; last answer ${last}`);
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-autolock-'));
    address = `127.0.0.1:${await freePort()}`;
    await initCluster({ dataDir: dataDir(), adminDir: adminDir() });
    manager = await start();
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await manager?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('has no unlock key while autolock is off', async () => {
    const error = await refused(callUnary(control(), (c) => c.getUnlockKey, {}, timeoutMs));
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toMatch(/autolock is off.*trellis cluster update --autolock true/);
  });

  let managerCredentials: ChannelCredentials;
  it("is the administrators' alone: a manager's certificate is refused", async () => {
    managerCredentials = await joinedNodeCredentials(address, adminDir(), 'manager');
    const asManager = new ControlClient(address, managerCredentials, managerChannelOptions);
    clients.push(asManager);
    for (const error of [
      await refused(callUnary(asManager, (c) => c.updateCluster, { autolock: true }, timeoutMs)),
      await refused(callUnary(asManager, (c) => c.getUnlockKey, {}, timeoutMs)),
      await refused(callUnary(asManager, (c) => c.unlockManager, { unlockKey: '' }, timeoutMs)),
    ]) {
      expect(error.code).toBe(status.PERMISSION_DENIED);
    }
    expect((await refused(callUnary(control(), (c) => c.getUnlockKey, {}, timeoutMs))).code).toBe(status.FAILED_PRECONDITION);
  });

  let unlockKey = '';
  it('turns on with an unlock key, which GetUnlockKey prints again; the key file then holds nothing that opens it', async () => {
    const answer = await callUnary(control(), (c) => c.updateCluster, { autolock: true }, timeoutMs);
    expect(answer.autolock).toBe(true);
    expect(answer.unlockKey).toMatch(/^TRLSKEY-1-[A-Z2-7]{52}$/);
    unlockKey = answer.unlockKey;
    expect((await callUnary(control(), (c) => c.getUnlockKey, {}, timeoutMs)).unlockKey).toBe(unlockKey);
    await manager?.close();
    manager = undefined;
    const file = JSON.parse(readFileSync(join(dataDir(), 'data-key.json'), 'utf8')) as Record<string, unknown>;
    expect(file.protection).toBe('unlock-key');
    expect(file).not.toHaveProperty('kek');
  });

  let starting: Promise<RunningManager>;
  it('restarted, refuses every call but the unlock, says why, and reports NOT_SERVING', async () => {
    ({ starting } = await restartLocked());
    const error = await refused(listNetworks());
    expect(error.details).toBe('manager is locked: run `trellis cluster unlock`');
    expect(await health()).toBe('NOT_SERVING');
    const ca = new CertificateAuthorityClient(address, adminCredentials(adminDir()), managerChannelOptions);
    clients.push(ca);
    expect((await refused(callUnary(ca, (c) => c.issueNodeCertificate, { joinToken: 'x', csrPem: 'y' }, timeoutMs))).code).toBe(status.FAILED_PRECONDITION);
    // Streams too: an agent's session (both ways) and a peer's Raft stream (client to server).
    const dispatcher = new DispatcherClient(address, managerCredentials, managerChannelOptions);
    const raft = new RaftClient(address, managerCredentials, managerChannelOptions);
    clients.push(dispatcher, raft);
    const session = dispatcher.session();
    const sessionEnd = new Promise<number>((resolve) => session.on('error', (error: ServiceError) => resolve(error.code)));
    expect(await sessionEnd).toBe(status.FAILED_PRECONDITION);
    const raftEnd = new Promise<number>((resolve) => raft.stream((error) => resolve(error?.code ?? status.OK)).end());
    expect(await raftEnd).toBe(status.FAILED_PRECONDITION);
  });

  it('refuses a malformed key and a wrong key, naming the field, and stays locked', async () => {
    const malformed = await refused(unlock('not-a-key'));
    expect([malformed.code, malformed.metadata.get('trellis-field')[0]]).toEqual([status.INVALID_ARGUMENT, 'unlock_key']);
    const wrong = await refused(unlock(`TRLSKEY-1-${'A'.repeat(52)}`));
    expect(wrong.code).toBe(status.INVALID_ARGUMENT);
    expect(wrong.details).toMatch(/does not open this manager/);
    expect((await refused(listNetworks())).code).toBe(status.FAILED_PRECONDITION);
  });

  it('unlocked with the key, serves again with its state', async () => {
    expect(await unlock(unlockKey)).toEqual({ wasLocked: true });
    manager = await starting;
    expect((await listNetworks()).networks).toEqual([]);
    expect(await health()).toBe('SERVING');
    expect(await unlock(unlockKey)).toEqual({ wasLocked: false });
  });

  it('after a rotation, only the new key unlocks it', async () => {
    const rotated = (await callUnary(control(), (c) => c.rotateUnlockKey, {}, timeoutMs)).unlockKey;
    expect(rotated).not.toBe(unlockKey);
    const locked = (await restartLocked()).starting;
    expect((await refused(unlock(unlockKey))).code).toBe(status.INVALID_ARGUMENT);
    expect(await unlock(rotated)).toEqual({ wasLocked: true });
    manager = await locked;
    expect((await listNetworks()).networks).toEqual([]);
  });

  it('turned off, restarts without a key', async () => {
    expect(await callUnary(control(), (c) => c.updateCluster, { autolock: false }, timeoutMs)).toEqual({ autolock: false, unlockKey: '' });
    await manager?.close();
    manager = await start();
    expect((await listNetworks()).networks).toEqual([]);
    expect((await refused(callUnary(control(), (c) => c.getUnlockKey, {}, timeoutMs))).code).toBe(status.FAILED_PRECONDITION);
  });

  it('a manager that joins while autolock is on gets the data key over its mTLS join and wraps it under the unlock key', async () => {
    const key = (await callUnary(control(), (c) => c.updateCluster, { autolock: true }, timeoutMs)).unlockKey;
    const joinToken = (await callUnary(control(), (c) => c.getJoinTokens, {}, timeoutMs)).manager;
    const joiner = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm2'), join: address, joinToken, logger });
    try {
      const file = await readKeyFile(join(root, 'm2'));
      expect(file?.locked).toBe(true);
      const m1File = await readKeyFile(dataDir());
      expect(file?.open(key)).toEqual(m1File?.open(key));
      // It serves the sealed secrets it can now open: the join tokens, through its own API.
      const viaJoiner = adminControl(joiner.address, adminDir());
      clients.push(viaJoiner);
      expect((await callUnary(viaJoiner, (c) => c.getJoinTokens, {}, timeoutMs)).manager).toBe(joinToken);
    } finally {
      await joiner.close();
    }
  });
});
