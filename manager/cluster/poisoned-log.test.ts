import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ControlClient, CreateNetworkRequest, ListNetworksRequest } from '../../proto/gen/trellis/v1/control';
import { RaftClient } from '../../proto/gen/trellis/v1/raft';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';
import { adminControl, joinedNodeCredentials } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';
import { DiskStorage } from '../raft/storage';
import { toJsonBytes } from './json-bytes';

/** A real manager on loopback with its Raft log on a real disk: what a poisoned command does to it. */
const logger = pino({ level: 'silent' });
const timeoutMs = 10_000;

/** Commands an attacker or another version could put in a log, and bytes that are no proposal at all. */
const poisonedEntries: Uint8Array[] = [
  toJsonBytes({ requestId: 'poison-1', command: { type: 'dropEverything' } }),
  toJsonBytes({ requestId: 'poison-2', command: { type: 'createNetwork', id: 'p', name: 'poison', driver: '', ipam: [{ subnet: 7 }] } }),
  toJsonBytes({ requestId: 'poison-3', command: { type: 'updateNode', node: 'n', labelRm: 'toString' } }),
  Buffer.from('not JSON at all'),
  toJsonBytes([1, 2, 3]),
];

describe('a manager and poisoned commands', () => {
  let root: string;
  let manager: RunningManager | undefined;
  let exits = 0;
  const clients: (ControlClient | RaftClient)[] = [];

  async function start(): Promise<RunningManager> {
    manager = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm1'), adminDir: join(root, 'admin'), logger, onExit: () => (exits += 1) });
    return manager;
  }
  /** Creates a network through the API, then lists them all: a manager that does both is alive and serving. */
  async function writeThenList(running: RunningManager, name: string, subnet: string): Promise<string[]> {
    const client = adminControl(running.address, join(root, 'admin'));
    clients.push(client);
    await callUnary(client, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name, subnet }), timeoutMs);
    return (await callUnary(client, (c) => c.listNetworks, ListNetworksRequest.fromPartial({}), timeoutMs)).networks.map((n) => n.name).sort();
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'trellis-poison-'));
    exits = 0;
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await manager?.close();
    manager = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  it('replays poisoned entries already committed in its log without dying, and goes on taking writes', async () => {
    const first = await start();
    await writeThenList(first, 'before', '10.231.1.0/24');
    await first.close();
    manager = undefined;

    // Written straight into the log, as a manager of another version (or before this check) could have committed them.
    const storage = await DiskStorage.open(join(root, 'm1', 'raft'));
    const last = storage.lastIndex();
    const entries = poisonedEntries.map((data, offset) => ({ term: storage.term(last), index: last + 1 + offset, type: 'normal' as const, data }));
    await storage.save({ ...storage.initialState().hardState, commit: last + entries.length }, entries, undefined, true);
    await storage.close();

    const restarted = await start();
    expect(await writeThenList(restarted, 'after', '10.231.2.0/24')).toEqual(['after', 'before']);
    expect(restarted.cluster.status().applied).toBeGreaterThan(last + entries.length);
    expect(exits).toBe(0);
  });

  it('refuses a poisoned command sent over Raft.Propose with INVALID_ARGUMENT naming the field, and proposes nothing', async () => {
    const running = await start();
    const raft = new RaftClient(running.address, await joinedNodeCredentials(running.address, join(root, 'admin'), 'manager'), managerChannelOptions);
    clients.push(raft);
    const propose = (command: Buffer) => callUnary(raft, (c) => c.propose, { command }, timeoutMs).catch((error: ServiceError) => error);
    await writeThenList(running, 'before', '10.231.1.0/24');
    const lastIndex = running.cluster.status().lastIndex;

    for (const [command, field] of [
      [toJsonBytes({ type: 'dropEverything' }), 'type'],
      [toJsonBytes({ type: 'connect', endpointId: 'e', network: 'before', sandbox: 's' }), 'aliases'],
      [Buffer.from('not JSON at all'), 'command'],
    ] as const) {
      const refusal = await propose(command);
      expect(refusal).toBeInstanceOf(Error);
      expect(status[(refusal as ServiceError).code]).toBe('INVALID_ARGUMENT');
      expect((refusal as ServiceError).metadata.get('trellis-field')).toEqual([field]);
    }
    expect(running.cluster.status().lastIndex).toBe(lastIndex);
    expect(await writeThenList(running, 'after', '10.231.2.0/24')).toEqual(['after', 'before']);
    expect(exits).toBe(0);
  });
});
