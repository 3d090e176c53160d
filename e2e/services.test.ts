/**
 * Services as application teams meet them, on 4 agents: one stable VIP whose calls spread over
 * backends on three hosts, each backend seeing the caller's own address; a VIP only sandboxes on
 * its network reach; backends that cannot carry traffic (their node down, or not yet programmed)
 * in nobody's rules; a backend that leaves draining: its open connection kept until the drain
 * timeout, no new one; and a VIP of a service that declares no port answering on whatever port
 * its backends serve. Cluster actions go through the `trellis` CLI; traffic stays in the lab.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { Service } from '../proto/gen/trellis/v1/types';
import { CreatedObjects } from './support/created-objects';
import { eventually, lab, labDown, labUp, trellis, trellisJson, trellisOk } from './support/lab-driver';
import { ipOf, sandboxNamespace } from './support/overlay';
import { HeldConnection, spreadOf, startNamedServer, type Spread } from './support/vip-traffic';

const SERVICE_SUBNET = '10.242.0.0/24';
const OTHER_SUBNET = '10.242.1.0/24';
const PORT = 7080;
/** A port no service declares: a VIP answers it all the same. */
const UNDECLARED_PORT = 15432;
const CALLS = 300;
const BOUND_MS = 30_000;
const DRAIN_SECONDS = 8;

jest.setTimeout(300_000);

interface NodeRow {
  name: string;
  status: string;
}

describe('services (1 manager, 4 agents)', () => {
  const created = new CreatedObjects();
  const servers: ChildProcess[] = [];
  const held: HeldConnection[] = [];
  let vip = '';

  async function backend(sandbox: string, node: string, service: string): Promise<void> {
    created.sandbox(sandbox, node);
    trellisOk('m1', ['network', 'connect', 'svc-net', sandbox, '--service', service]);
    await serve(sandbox);
  }

  async function serve(sandbox: string): Promise<void> {
    servers.push(await startNamedServer(sandboxNamespace(sandbox), sandbox, PORT));
  }

  function spread(count: number, from = 'client', to = vip): Spread {
    return spreadOf(sandboxNamespace(from), to, PORT, count);
  }

  const nodeStatus = (name: string): string | undefined =>
    trellisJson<NodeRow[]>('m1', ['node', 'ls', '--format', 'json']).find((node) => node.name === name)?.status;

  beforeAll(async () => {
    labUp(1, 4);
    created.network('svc-net', ['--subnet', SERVICE_SUBNET]);
    created.network('other-net', ['--subnet', OTHER_SUBNET]);
    trellisOk('m1', ['service', 'create', 'web', '--network', 'svc-net', '--publish', `${PORT}`]);
    vip = trellisJson<Service>('m1', ['service', 'inspect', 'web']).vips[0]?.ip ?? '';
    for (const [sandbox, node] of [['b1', 'a1'], ['b2', 'a2'], ['b3', 'a3']] as const) await backend(sandbox, node, 'web');
    created.sandbox('client', 'a4');
    trellisOk('m1', ['network', 'connect', 'svc-net', 'client']);
  });
  afterAll(() => {
    for (const connection of held) connection.close();
    for (const server of servers) server.kill();
    try {
      // Backends go at once (no drain), so the services and the network can follow.
      for (const sandbox of ['b1', 'b2', 'b3', 'b4', 'd1', 'd2', 'p1', 'p2']) trellis('m1', ['network', 'disconnect', 'svc-net', sandbox, '--force']);
      for (const service of ['web', 'slow', 'db']) trellis('m1', ['service', 'rm', service]);
      created.removeWhatRemains();
    } finally {
      labDown();
    }
  });

  it('spreads calls to the VIP from a fourth host over the 3 backends, each seeing the client’s own address', async () => {
    expect(vip).toMatch(/^10\.242\.0\./);
    await eventually(() => Object.keys(spread(30).counts).length === 3, 'every backend answers through the VIP', BOUND_MS);
    const calls = spread(CALLS);
    expect(calls.failures).toBe(0);
    for (const name of ['b1', 'b2', 'b3']) {
      expect(calls.counts[name]).toBeGreaterThanOrEqual(CALLS * 0.2);
      expect(calls.counts[name]).toBeLessThanOrEqual(CALLS * 0.47);
    }
    expect(calls.sources).toEqual([ipOf('client', 'svc-net')]);
  });

  it('answers every port of a service created without --publish: the client on another host calls VIP:PORT, the port its backends serve', async () => {
    trellisOk('m1', ['service', 'create', 'db', '--network', 'svc-net']);
    const dbVip = trellisJson<Service>('m1', ['service', 'inspect', 'db']).vips[0]?.ip ?? '';
    expect(dbVip).toMatch(/^10\.242\.0\./);
    for (const [sandbox, node] of [['p1', 'a1'], ['p2', 'a2']] as const) {
      created.sandbox(sandbox, node);
      trellisOk('m1', ['network', 'connect', 'svc-net', sandbox, '--service', 'db']);
      servers.push(await startNamedServer(sandboxNamespace(sandbox), sandbox, UNDECLARED_PORT));
    }
    await eventually(() => Object.keys(spreadOf(sandboxNamespace('client'), dbVip, UNDECLARED_PORT, 20).counts).length === 2, 'both db backends answer on the VIP', BOUND_MS);
    const calls = spreadOf(sandboxNamespace('client'), dbVip, UNDECLARED_PORT, 40);
    expect(calls.failures).toBe(0);
    expect(Object.keys(calls.counts).sort()).toEqual(['p1', 'p2']);
    expect(calls.sources).toEqual([ipOf('client', 'svc-net')]);
  });

  it('is not reachable from a sandbox that is not on its network', () => {
    created.sandbox('outsider', 'a4');
    trellisOk('m1', ['network', 'connect', 'other-net', 'outsider']);
    const calls = spread(3, 'outsider');
    expect(calls.counts).toEqual({});
    expect(calls.failures).toBe(3);
  });

  it('sends nothing to a backend whose node is down, nor to one its node has not programmed, and takes them back after', async () => {
    lab(['kill', 'a3']);
    await eventually(() => nodeStatus('a3') === 'NODE_STATUS_DOWN', 'a3 marked down', BOUND_MS);
    // b3 still runs and the overlay still reaches it: only the rules keep calls away.
    await eventually(() => spread(30).counts.b3 === undefined, 'b3 out of the rules', BOUND_MS);
    // A new backend on the node that is down: its agent has made nothing yet (not even its
    // namespace), so it is not ready and no rule anywhere sends a call to it.
    created.sandbox('b4', 'a3');
    trellisOk('m1', ['network', 'connect', 'svc-net', 'b4', '--service', 'web']);
    const calls = spread(60);
    expect(Object.keys(calls.counts).sort()).toEqual(['b1', 'b2']);
    expect(calls.failures).toBe(0);
    expect(trellisJson<Service>('m1', ['service', 'inspect', 'web']).backends.filter((b) => b.ready).map((b) => b.sandboxName).sort()).toEqual(['b1', 'b2']);

    lab(['start', 'a3']);
    await eventually(() => trellisJson<Service>('m1', ['service', 'inspect', 'web']).backends.every((b) => b.ready), 'every backend ready', BOUND_MS);
    await serve('b4');
    await eventually(() => Object.keys(spread(60).counts).length === 4, 'b3 and b4 back in the rules', BOUND_MS);
  });

  it('drains a disconnected backend: its open connection works until the drain timeout, new ones go elsewhere', async () => {
    trellisOk('m1', ['service', 'create', 'slow', '--network', 'svc-net', '--publish', `${PORT + 1}:${PORT}`, '--drain-timeout', `${DRAIN_SECONDS}s`]);
    const slowVip = trellisJson<Service>('m1', ['service', 'inspect', 'slow']).vips[0]?.ip ?? '';
    await backend('d1', 'a1', 'slow');
    await backend('d2', 'a2', 'slow');
    await eventually(() => Object.keys(spread(20, 'client', slowVip).counts).length === 2, 'both slow backends answer', BOUND_MS);

    const connection = new HeldConnection(sandboxNamespace('client'), slowVip, PORT);
    held.push(connection);
    const [serving] = (await connection.nextLine(5_000))?.split(' ') ?? [];
    expect(['d1', 'd2']).toContain(serving);
    const other = serving === 'd1' ? 'd2' : 'd1';
    const servingIp = ipOf(serving ?? '', 'svc-net');
    trellisOk('m1', ['network', 'disconnect', 'svc-net', serving ?? '']);
    const draining = trellisJson<Service>('m1', ['service', 'inspect', 'slow']).backends.find((b) => b.sandboxName === serving);
    expect(draining).toMatchObject({ draining: true, drainEndsAt: expect.stringMatching(/Z$/) });

    await eventually(() => Object.keys(spread(10, 'client', slowVip).counts).join() === other, 'new calls go to the other backend only', BOUND_MS);
    connection.send('still-there');
    expect(await connection.nextLine(5_000)).toBe(`${serving} echo still-there`);

    // Past the drain timeout the backend is gone for good, and its flows with it.
    await eventually(
      () => !trellisJson<Service>('m1', ['service', 'inspect', 'slow']).backends.some((b) => b.sandboxName === serving),
      'the drained backend removed',
      DRAIN_SECONDS * 1000 + BOUND_MS,
    );
    // The store removes it first; the client's agent then drops it from its rules and clears its
    // flows in the same step of its next pass: the flow is tried once that step has run.
    await eventually(
      () => !execFileSync('ip', ['netns', 'exec', sandboxNamespace('client'), 'nft', 'list', 'table', 'ip', 'trellis_lb'], { encoding: 'utf8' }).includes(servingIp),
      "the drained backend out of the client's rules",
      BOUND_MS,
    );
    connection.send('gone');
    const after = await connection.nextLine(5_000);
    expect(after).not.toBe(`${serving} echo gone`);
  });
});
