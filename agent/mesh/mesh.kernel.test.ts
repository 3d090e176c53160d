import type { ChildProcess } from 'node:child_process';
import { EndpointView, NodeView, ServiceView } from '../../proto/gen/trellis/v1/dispatcher';
import { run } from '../reconcile/kernel-test-support';
import { spreadOf, startNamedServer, type Spread } from '../../e2e/support/vip-traffic';
import { buildMeshLab, hostRunner, meshHosts, meshLab, removeMeshLab, type MeshTestHost } from './kernel-test-lab';
import { MeshStep } from './mesh-step';
import { MESH_DEVICE, MESH_TABLE } from './names';

/*
 * The routing mesh and host-mode publishing on real namespaces: host A runs no backend, B and C
 * run one each, a client host that is no node at all calls the published ports on every node's
 * address. Each backend answers with its name and the source address it saw.
 */

jest.setTimeout(120_000);

const INGRESS = 8080;
const HOST_MODE = 8081;
const TARGET = 80;

const service = (ports: ServiceView['ports']): ServiceView =>
  ServiceView.fromPartial({ id: 'svc-web', name: 'web', endpointMode: 'vip', ports, revision: 1 });

const PORTS: ServiceView['ports'] = [
  { protocol: 'tcp', targetPort: TARGET, publishedPort: INGRESS, publishMode: 'ingress' },
  { protocol: 'tcp', targetPort: TARGET, publishedPort: HOST_MODE, publishMode: 'host' },
];

const backends = (): MeshTestHost[] => meshHosts().filter((host) => host.sandbox !== undefined);

function endpointOf(host: MeshTestHost): EndpointView {
  return EndpointView.fromPartial({
    id: `ep-${host.nodeId}`, networkId: 'net-1', sandboxId: host.sandbox?.id, nodeId: host.nodeId, vtep: host.address, serviceId: 'svc-web',
  });
}

/** What the reconciler's pass would have given the host's sandbox as its gw0 address. */
function egressOf(host: MeshTestHost): Map<string, string> {
  return new Map(host.sandbox === undefined ? [] : [[host.sandbox.netns, host.sandbox.address]]);
}

function viewOf(host: MeshTestHost, services: ServiceView[]): NodeView {
  return NodeView.fromPartial({
    nodeId: host.nodeId,
    advertiseAddr: host.address,
    sandboxes: host.sandbox === undefined ? [] : [{ id: host.sandbox.id, netnsName: host.sandbox.netns, netnsPath: '' }],
    endpoints: backends().map(endpointOf),
    services,
  });
}

describe('routing mesh and host-mode publishing (kernel)', () => {
  const servers: ChildProcess[] = [];
  let ready = new Set<string>();
  const steps = new Map(meshHosts().map((host) => [host.nodeId, new MeshStep(hostRunner(host), { underlayDevice: 'uplink', localAddress: host.address }, () => ready)]));
  const step = (host: MeshTestHost): MeshStep => steps.get(host.nodeId) as MeshStep;
  const syncAll = async (services: ServiceView[]): Promise<number[]> => {
    const writes: number[] = [];
    for (const host of meshHosts()) writes.push((await step(host).sync(viewOf(host, services), egressOf(host))).writes);
    return writes;
  };
  const calls = (host: MeshTestHost, port: number, count: number): Spread => spreadOf(meshLab.client.netns, host.address, port, count);
  const inA = (...argv: string[]): Promise<string> => run(['ip', 'netns', 'exec', meshLab.a.netns, ...argv]);

  beforeAll(async () => {
    await removeMeshLab();
    await buildMeshLab();
    for (const host of backends()) servers.push(await startNamedServer(host.sandbox?.netns ?? '', host.nodeId, TARGET));
    ready = new Set(backends().map((host) => endpointOf(host).id));
    await syncAll([service(PORTS)]);
  });

  afterAll(async () => {
    for (const server of servers) server.kill();
    await removeMeshLab();
  });

  const client = meshLab.client.address;
  const servedOnlyBy = (name: string, count: number): Spread => ({ counts: { [name]: count }, sources: [client], failures: 0 });
  const unanswered = (count: number): Spread => ({ counts: {}, sources: [], failures: count });

  it('answers an ingress port on a node without a backend, and the backend sees the client address', () => {
    const spread = calls(meshLab.a, INGRESS, 16);
    // Each flow hashes to one of B and C; over 16 client ports both get some.
    expect(Object.keys(spread.counts).sort()).toEqual(['node-b', 'node-c']);
    expect(spread.sources).toEqual([client]);
    expect(spread.failures).toBe(0);
  });

  it('serves an ingress port on a node with a backend from that backend', () => {
    expect(calls(meshLab.b, INGRESS, 3)).toEqual(servedOnlyBy('node-b', 3));
    expect(calls(meshLab.c, INGRESS, 3)).toEqual(servedOnlyBy('node-c', 3));
  });

  it('answers a host-mode port only where a backend runs, from the local backend', () => {
    expect(calls(meshLab.b, HOST_MODE, 3)).toEqual(servedOnlyBy('node-b', 3));
    expect(calls(meshLab.c, HOST_MODE, 3)).toEqual(servedOnlyBy('node-c', 3));
    expect(calls(meshLab.a, HOST_MODE, 2)).toEqual(unanswered(2));
  });

  it('writes nothing when in line, and repairs drift on the next pass', async () => {
    expect(await syncAll([service(PORTS)])).toEqual([0, 0, 0]);
    await inA('nft', 'delete', 'table', 'netdev', MESH_TABLE);
    expect(calls(meshLab.a, INGRESS, 2)).toEqual(unanswered(2));
    await inA('ip', 'neigh', 'del', meshLab.b.address, 'dev', MESH_DEVICE);
    expect((await step(meshLab.a).sync(viewOf(meshLab.a, [service(PORTS)]), egressOf(meshLab.a))).writes).toBe(2);
    expect(calls(meshLab.a, INGRESS, 16).failures).toBe(0);
    // The tunnel device made again (new ifindex): forwarding follows it.
    await inA('ip', 'link', 'del', 'dev', MESH_DEVICE);
    await step(meshLab.a).sync(viewOf(meshLab.a, [service(PORTS)]), egressOf(meshLab.a));
    expect(calls(meshLab.a, INGRESS, 16).failures).toBe(0);
  });

  it('reads nothing on a scoped pass while its mesh is what it last brought in line; a full pass still finds and repairs drift', async () => {
    const commands: string[][] = [];
    const inner = hostRunner(meshLab.a);
    const counted = new MeshStep({ run: (argv, stdin) => (commands.push([...argv]), inner.run(argv, stdin)) }, { underlayDevice: 'uplink', localAddress: meshLab.a.address }, () => ready);
    const sync = (scope: 'full' | 'scoped') => counted.sync(viewOf(meshLab.a, [service(PORTS)]), egressOf(meshLab.a), scope);
    // A step that has brought nothing in line yet reads, scoped or not.
    expect(await sync('scoped')).toMatchObject({ read: true, writes: 0 });
    commands.length = 0;
    expect(await sync('scoped')).toMatchObject({ read: false, writes: 0, drift: 0 });
    expect(commands).toEqual([]);

    await inA('nft', 'delete', 'table', 'netdev', MESH_TABLE);
    expect(await sync('scoped')).toMatchObject({ read: false, writes: 0 });
    expect(calls(meshLab.a, INGRESS, 2)).toEqual(unanswered(2));
    expect(await sync('full')).toMatchObject({ read: true, writes: 1, drift: 1 });
    expect(calls(meshLab.a, INGRESS, 16).failures).toBe(0);

    // A backend no longer ready changes the mesh: a scoped pass reads and writes it, and none of that is drift.
    const before = ready;
    ready = new Set([endpointOf(meshLab.c).id]);
    const changed = await sync('scoped');
    expect([changed.read, changed.writes > 0, changed.drift]).toEqual([true, true, 0]);
    expect(calls(meshLab.a, INGRESS, 4)).toEqual(servedOnlyBy('node-c', 4));
    ready = before;
    const back = await sync('scoped');
    expect([back.read, back.writes > 0, back.drift]).toEqual([true, true, 0]);
  });

  it('sends no new flow to a backend that is no longer ready', async () => {
    ready = new Set([endpointOf(meshLab.c).id]);
    await syncAll([service(PORTS)]);
    expect(calls(meshLab.a, INGRESS, 6)).toEqual(servedOnlyBy('node-c', 6));
    expect(calls(meshLab.b, HOST_MODE, 2)).toEqual(unanswered(2));
  });

  it('takes its tables and tunnel device away when no service publishes a port, or on remove-all', async () => {
    expect((await step(meshLab.a).removeAll()).writes).toBe(2);
    for (const host of [meshLab.b, meshLab.c]) await step(host).sync(viewOf(host, []), egressOf(host));
    for (const host of meshHosts()) {
      const inHost = (...argv: string[]): Promise<string> => run(['ip', 'netns', 'exec', host.netns, ...argv]);
      expect(await inHost('nft', 'list', 'tables')).not.toContain(MESH_TABLE);
      expect(await inHost('ip', '-j', 'link', 'show')).not.toContain(MESH_DEVICE);
    }
    expect(calls(meshLab.c, INGRESS, 2)).toEqual(unanswered(2));
  });
});
