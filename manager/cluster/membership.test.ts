import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ControlClient, CreateNetworkRequest, type ListManagersResponse } from '../../proto/gen/trellis/v1/control';
import { callUnary } from '../../proto/runtime/unary-call';
import { DispatcherClient, RegisterRequest } from '../../proto/gen/trellis/v1/dispatcher';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { adminControl, joinedNodeCredentials } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';

/** Managers on loopback with real gRPC between them and their Raft logs on a real disk. */
const logger = pino({ level: 'silent' });
const timeoutMs = 10_000;

async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('manager membership', () => {
  let root: string;
  const running = new Map<string, RunningManager>();
  const clients: ControlClient[] = [];

  function trackedAdminControl(address: string): ControlClient {
    const client = adminControl(address, `${root}/admin`);
    clients.push(client);
    return client;
  }
  const control = (manager: RunningManager): ControlClient => trackedAdminControl(manager.address);
  async function start(name: string, join?: string, forceNewCluster = false): Promise<RunningManager> {
    // A joining manager gets its certificate with the manager token, as `trellis manager --join-token` does.
    const adminDir = `${root}/admin`;
    const joinToken = join ? (await callUnary(trackedAdminControl(join), (c) => c.getJoinTokens, {}, timeoutMs)).manager : undefined;
    const manager = await startManager({ listen: '127.0.0.1:0', dataDir: `${root}/${name}`, join, joinToken, adminDir, forceNewCluster, logger });
    running.set(name, manager);
    return manager;
  }
  async function stop(name: string): Promise<void> {
    await running.get(name)?.close();
    running.delete(name);
  }
  const managers = (via: RunningManager) => callUnary(control(via), (c) => c.listManagers, {}, timeoutMs);
  const voters = (list: ListManagersResponse) => list.managers.filter((m) => m.role === 'voter').map((m) => m.id).sort();
  const createNetwork = (via: RunningManager, name: string, subnet: string) =>
    callUnary(control(via), (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name, subnet }), timeoutMs);
  const networkNames = async (via: RunningManager) =>
    (await callUnary(control(via), (c) => c.listNetworks, { pageSize: 0, pageToken: '' }, timeoutMs)).networks.map((n) => n.name).sort();

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'trellis-membership-'));
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const name of [...running.keys()]) await stop(name);
    rmSync(root, { recursive: true, force: true });
  });

  it('joins managers as learners, promotes them, and serves writes through any of them', async () => {
    const first = await start('m1');
    const second = await start('m2', first.address);
    const third = await start('m3', second.address);
    const ids = [first.id, second.id, third.id].sort();
    await eventually(async () => (voters(await managers(first)).join() === ids.join() ? true : undefined), 'three voters');

    await createNetwork(third, 'through-a-follower', '10.231.1.0/24');
    await createNetwork(second, 'another', '10.231.2.0/24');
    expect(await networkNames(first)).toEqual(['another', 'through-a-follower']);
    expect(await networkNames(third)).toEqual(['another', 'through-a-follower']);
  });

  it('lists nodes page by page through a follower (which asks the leader), and through the leader alike', async () => {
    const first = await start('m1');
    const second = await start('m2', first.address);
    await eventually(async () => (voters(await managers(first)).length === 2 ? true : undefined), 'two voters');
    // A manager's certificate may register any node, as the agents' own would.
    const dispatcher = new DispatcherClient(first.address, await joinedNodeCredentials(first.address, `${root}/admin`, 'manager'), managerChannelOptions);
    try {
      for (const node of ['n3', 'n1', 'n5', 'n2', 'n4']) await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: node, advertiseAddr: '198.18.0.10' }), timeoutMs);
    } finally {
      dispatcher.close();
    }
    const follower = first.cluster.isLeader() ? second : first;
    for (const via of [follower, first.cluster.isLeader() ? first : second]) {
      const pages: string[][] = [];
      let pageToken = '';
      do {
        const page = await callUnary(control(via), (c) => c.listNodes, { pageSize: 2, pageToken }, timeoutMs);
        pages.push(page.nodes.map((node) => node.name));
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
      expect(pages).toEqual([['n1', 'n2'], ['n3', 'n4'], ['n5']]);
    }
  });

  it('removes a manager that leaves; the rest keep a quorum and keep serving', async () => {
    const first = await start('m1');
    const second = await start('m2', first.address);
    const third = await start('m3', first.address);
    await eventually(async () => (voters(await managers(first)).length === 3 ? true : undefined), 'three voters');

    await callUnary(control(second), (c) => c.removeManager, { id: third.id }, timeoutMs);
    await stop('m3');

    expect(voters(await managers(first))).toEqual([first.id, second.id].sort());
    await createNetwork(second, 'after-leave', '10.231.3.0/24');
    expect(await networkNames(first)).toEqual(['after-leave']);
  });

  it('refuses to remove the last voter and names the field', async () => {
    const only = await start('m1');
    const error = (await callUnary(control(only), (c) => c.removeManager, { id: only.id }, timeoutMs).catch((e: ServiceError) => e)) as ServiceError;
    expect(status[error.code]).toBe('FAILED_PRECONDITION');
    expect(error.details).toContain('id');
  });

  it('recovers a lone survivor into a new one-member cluster with --force-new-cluster', async () => {
    const first = await start('m1');
    const second = await start('m2', first.address);
    const third = await start('m3', first.address);
    await eventually(async () => (voters(await managers(first)).length === 3 ? true : undefined), 'three voters');
    await createNetwork(second, 'before-disaster', '10.231.4.0/24');
    await eventually(async () => ((await networkNames(third)).includes('before-disaster') ? true : undefined), 'm3 has the write');

    await stop('m1');
    await stop('m2');
    const stuck = await createNetwork(third, 'without-quorum', '10.231.5.0/24').catch((e: ServiceError) => status[e.code]);
    expect(stuck).toBe('UNAVAILABLE');
    await stop('m3');

    const survivor = await start('m3', undefined, true);
    expect(voters(await managers(survivor))).toEqual([third.id]);
    expect(await networkNames(survivor)).toContain('before-disaster');
    await createNetwork(survivor, 'after-recovery', '10.231.6.0/24');
    expect(await networkNames(survivor)).toContain('after-recovery');
  });
});
