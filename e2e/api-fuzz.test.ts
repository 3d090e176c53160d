/**
 * 10,000 random requests across every Control RPC against a real manager process, through mTLS
 * with the admin certificate: the manager must stay up and healthy, a refused request must leave
 * the store exactly as it was, and its memory must stay bounded. The sequence comes from one seed
 * (printed; TRELLIS_FUZZ_SEED replays it, TRELLIS_FUZZ_REQUESTS changes the count).
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinedNodeCredentials } from '../manager/cluster-clients';
import { ControlService, type ControlClient } from '../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest } from '../proto/gen/trellis/v1/dispatcher';
import { managerChannelOptions } from '../proto/runtime/tls';
import { callUnary } from '../proto/runtime/unary-call';
import { anyCall, fuzzedRpcs, type FuzzCall } from './api-fuzz/requests';
import { ANCHOR_NODE, changes, snapshot, type StoreSnapshot } from './api-fuzz/store-snapshot';
import { summary, Tally } from './api-fuzz/tally';
import { ManagerProcess } from './support/manager-process';

const SEED = Number(process.env.TRELLIS_FUZZ_SEED ?? 20_261_206);
const REQUESTS = Number(process.env.TRELLIS_FUZZ_REQUESTS ?? 10_000);
const CALL_TIMEOUT_MS = 30_000;
/** Answers slower than this are listed (not asserted: they show where the manager stalls). */
const SLOW_MS = 2_000;
const MEMORY_BOUND = 1024 ** 3;
/** Every this many requests: the health check, a memory reading, and the two nodes registered again if a request removed them. */
const CHECK_EVERY = 100;
const BATCH = 100;
/** n1's agent reports an eth0 and a kernel with macvlan and VLAN devices (no ipvlan); n2's, an older one, reports nothing. */
const NODES = [
  { nodeName: 'n1', advertiseAddr: '198.18.0.11', interfaces: [{ name: 'eth0', kind: '', addresses: ['198.18.0.11/24'] }], linkKinds: ['macvlan', 'vlan'] },
  { nodeName: 'n2', advertiseAddr: '198.18.0.12' },
];

/**
 * The fuzzed calls, drawn a batch at a time (each batch from the seed and its number) so that the
 * test holds only a few of the megabyte-sized requests at once.
 */
function* callSequence(seed: number, count: number): Generator<[number, FuzzCall]> {
  for (let first = 0; first < count; first += BATCH) {
    const batch = fc.sample(anyCall, { seed: seed + first / BATCH, numRuns: Math.min(BATCH, count - first) });
    for (const [offset, call] of batch.entries()) yield [first + offset, call];
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number';
}

describe('the Control API under 10,000 random requests', () => {
  let dir: string;
  let manager: ManagerProcess;
  let control: ControlClient;
  let observer: ControlClient;
  let dispatcher: DispatcherClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-api-fuzz-'));
    manager = await ManagerProcess.start(dir);
    control = manager.control();
    // The observer reads whole lists whatever their size: the 4 MB reply limit is the API's problem, not the check's.
    observer = manager.control(1024 ** 3);
    dispatcher = new DispatcherClient(manager.address, await joinedNodeCredentials(manager.address, manager.adminDir, 'manager'), managerChannelOptions);
    await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial(ANCHOR_NODE), CALL_TIMEOUT_MS);
  }, 60_000);

  afterAll(async () => {
    for (const client of [control, observer, dispatcher]) client?.close();
    await manager?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fuzzes every RPC of the Control service', () => {
    expect([...fuzzedRpcs].sort()).toEqual(Object.values(ControlService).map((method) => method.path.split('/').pop() ?? '').sort());
  });

  it('stays up and healthy, changes nothing on a refused request, and keeps its memory bounded', async () => {
    process.stdout.write(`api fuzz: seed ${SEED}, ${REQUESTS} requests (replay: TRELLIS_FUZZ_SEED=${SEED})\n`);
    const tally = new Tally();
    const ensureNodes = async (current: StoreSnapshot): Promise<StoreSnapshot> => {
      const missing = NODES.filter((node) => !current.known.nodes.some((known) => known.name === node.nodeName));
      for (const node of missing) await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial(node), CALL_TIMEOUT_MS);
      return missing.length > 0 ? snapshot(observer, CALL_TIMEOUT_MS) : current;
    };
    const began = Date.now();
    let current = await ensureNodes(await snapshot(observer, CALL_TIMEOUT_MS));
    let largestStore = current.bytes;
    let sent = 0;
    let peak = 0;
    for (const [index, call] of callSequence(SEED, REQUESTS)) {
      if (index % CHECK_EVERY === 0) {
        if (!(await manager.serving())) tally.unhealthy.push(`before request ${index}: health check not SERVING`);
        current = await ensureNodes(current);
        peak = Math.max(peak, manager.memory().peak);
      }
      const prepared = call.prepare(current.known);
      const described = () => `request ${index} ${call.rpc} ${summary(prepared.request)}`;
      sent++;
      const sentAt = Date.now();
      let code = 'OK';
      try {
        await prepared.send(control, CALL_TIMEOUT_MS);
        tally.count(call.rpc, code);
        if (call.mutates) current = await snapshot(observer, CALL_TIMEOUT_MS);
      } catch (error) {
        if (!manager.alive()) {
          tally.unhealthy.push(`${described()}: the manager ${manager.exitReason()}\n${manager.logTail()}`);
          break;
        }
        if (!isServiceError(error)) throw error;
        code = status[error.code] ?? String(error.code);
        tally.count(call.rpc, code, error.details);
        const answer = `→ ${code}: ${error.details.slice(0, 200)}`;
        if (error.code === status.DEADLINE_EXCEEDED) tally.unanswered.push(described());
        if (error.code === status.INTERNAL || error.code === status.UNKNOWN) tally.internalErrors.push(`${described()} ${answer}`);
        const after = await snapshot(observer, CALL_TIMEOUT_MS);
        if (after.digest !== current.digest) tally.changedByRefusal.push(`${described()} ${answer}; changed ${changes(current, after).slice(0, 5).join(', ')}`);
        current = after;
      }
      if (Date.now() - sentAt > SLOW_MS) tally.slow.push(`${described()} → ${code} after ${((Date.now() - sentAt) / 1000).toFixed(1)} s`);
      largestStore = Math.max(largestStore, current.bytes);
    }
    if (manager.alive() && !(await manager.serving())) tally.unhealthy.push('after the last request: health check not SERVING');
    const memory = manager.alive() ? manager.memory() : { rss: NaN, peak };

    const mib = (value: number) => `${(value / 1024 ** 2).toFixed(1)} MiB`;
    const seconds = ((Date.now() - began) / 1000).toFixed(0);
    process.stdout.write(
      tally.report(
        `api fuzz: ${sent} requests in ${seconds} s; manager peak RSS (VmHWM) ${mib(memory.peak)}, RSS at the end ${mib(memory.rss)}; ` +
          `largest store seen ${(largestStore / 1024).toFixed(0)} KiB of JSON`,
        SLOW_MS,
      ),
    );

    expect(tally.unhealthy).toEqual([]);
    expect(sent).toBe(REQUESTS);
    expect(tally.unanswered).toEqual([]);
    expect(tally.changedByRefusal).toEqual([]);
    expect(tally.internalErrors).toEqual([]);
    expect(memory.peak).toBeLessThan(MEMORY_BOUND);
  }, 30 * 60_000);
});
