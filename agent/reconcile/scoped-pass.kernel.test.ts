/**
 * Scoped passes against the real kernel: two hosts on an underlay bridge, several sandboxes on the
 * first. A change is written by a pass that reads and writes only the namespaces it touches, and
 * a full pass after it finds nothing left to write. Needs root.
 */
import { EndpointView, NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';
import { CommandRunner, IprouteKernel, networkNetnsName, processRunner } from '../kernel';
import { createUnderlay, deleteNetnsIfPresent, netnsNames, pings, run } from './kernel-test-support';
import { Reconciler } from './reconciler';
import { PLAIN_ENDPOINT } from './test-fixtures';

const tag = `trsp${process.pid}`;
const underlayNs = `${tag}-u`;
const host1 = { ns: `${tag}-h1`, ip: '198.18.0.1', nodeId: 'node-1', owner: `${tag}-h1` };
const host2 = { ns: `${tag}-h2`, ip: '198.18.0.2', nodeId: 'node-2', owner: `${tag}-h2` };
const front = { id: 'net-1', name: 'front', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 4252, subnet: '10.231.17.0/24', gateway: '10.231.17.1', mtu: 0, internal: false };
const back = { id: 'net-2', name: 'back', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 4253, subnet: '10.231.18.0/24', gateway: '10.231.18.1', mtu: 0, internal: false };

function sandbox(name: string): SandboxView {
  return { id: `sandbox-${name}`, name, netnsName: `trsb-${tag}-${name}`, networkMode: '', sharesNetns: false, netnsPath: '' };
}

function endpoint(id: string, on: typeof front, box: SandboxView, host: typeof host1, last: number, hostPort = 0): EndpointView {
  const hex = last.toString(16).padStart(2, '0');
  return {
    id: `ep${id.padEnd(12, id)}`, networkId: on.id, sandboxId: box.id, nodeId: host.nodeId, vtep: host.ip,
    ip: on.subnet.replace(/0\/24$/, `${last}`), prefixLength: 24, mac: `02:42:0a:e7:${on.vni % 100}:${hex}`, interfaceName: 'eth0',
    hostname: '', extraHosts: [], dns: [],
    publishedPorts: hostPort === 0 ? [] : [{ protocol: 'tcp', hostPort, port: 80 }],
    ...PLAIN_ENDPOINT,
  };
}

const local = ['a', 'b', 'c', 'd', 'e'].map(sandbox);
const [sandboxA, sandboxB, sandboxC, sandboxD, sandboxE] = local as [SandboxView, SandboxView, SandboxView, SandboxView, SandboxView];
const remote = sandbox('r');
const joining = sandbox('n');
const endpoints = {
  a: endpoint('a', front, sandboxA, host1, 2, 8081),
  b: endpoint('b', front, sandboxB, host1, 3, 8082),
  c: endpoint('c', front, sandboxC, host1, 4),
  d: endpoint('d', back, sandboxD, host1, 2),
  e: endpoint('e', back, sandboxE, host1, 3),
  r: endpoint('r', front, remote, host2, 9),
  n: endpoint('n', front, joining, host1, 5),
  r2: { ...endpoint('s', back, remote, host2, 9), interfaceName: 'eth1' },
};
const dWithPort = { ...endpoints.d, publishedPorts: [{ protocol: 'tcp', hostPort: 8084, port: 80 }] };

function viewOf(host: typeof host1, sandboxes: SandboxView[], endpointList: EndpointView[], revision: number): NodeView {
  return {
    revision, nodeId: host.nodeId, nodeName: host.ns, advertiseAddr: host.ip, networks: [front, back],
    sandboxes, endpoints: endpointList, members: [], overlaySubnets: [front.subnet, back.subnet], services: [],
  };
}

/** Every command the reconciler runs, as one line each. */
class RecordingRunner implements CommandRunner {
  lines: string[] = [];
  run(argv: readonly string[], stdin?: string): Promise<string> {
    this.lines.push(`${argv.join(' ')} ${stdin ?? ''}`);
    return processRunner.run(argv, stdin);
  }
}

const recorder = new RecordingRunner();
const reconciler1 = new Reconciler({ underlayDevice: 'uplink', owner: host1.owner }, new IprouteKernel(recorder, { hostNetns: host1.ns }));
const reconciler2 = new Reconciler({ underlayDevice: 'uplink', owner: host2.owner }, new IprouteKernel(processRunner, { hostNetns: host2.ns }));
const baseEndpoints = [endpoints.a, endpoints.b, endpoints.c, endpoints.d, endpoints.e, endpoints.r];
let revision = 1;

/** Both hosts move to the next view by scoped passes; returns host 1's pass and the commands it ran. */
async function change(sandboxes1: SandboxView[], endpointList: EndpointView[]) {
  revision += 1;
  recorder.lines = [];
  const result = await reconciler1.reconcileChange(viewOf(host1, sandboxes1, endpointList, revision));
  const commands = recorder.lines;
  await reconciler2.reconcileChange(viewOf(host2, [remote], endpointList, revision));
  return { result, commands, view: viewOf(host1, sandboxes1, endpointList, revision) };
}

function mentions(commands: readonly string[], box: SandboxView): boolean {
  return commands.some((line) => line.includes(box.netnsName));
}

beforeAll(async () => {
  await createUnderlay(underlayNs, [host1, host2]);
  await reconciler1.reconcile(viewOf(host1, local, baseEndpoints, revision));
  await reconciler2.reconcile(viewOf(host2, [remote], baseEndpoints, revision));
});

afterAll(async () => {
  for (const reconciler of [reconciler1, reconciler2]) await reconciler.removeAll().catch(() => undefined);
  for (const name of [...local, remote, joining].map((box) => box.netnsName).concat(host1.ns, host2.ns, underlayNs)) {
    await deleteNetnsIfPresent(name).catch(() => undefined);
  }
});

test('a connect is written by a scoped pass that touches no other sandbox; a full pass then writes nothing', async () => {
  const { result, commands, view } = await change([...local, joining], [...baseEndpoints, endpoints.n]);

  expect(result.pass).toBe('scoped');
  expect(result.writes).toBeGreaterThan(0);
  for (const box of local) expect(mentions(commands, box)).toBe(false);
  expect(await pings(joining.netnsName, endpoints.r.ip)).toBe(true);
  expect(await pings(joining.netnsName, endpoints.a.ip)).toBe(true);
  expect((await reconciler1.reconcile(view)).writes).toBe(0);
});

test('a disconnect is withdrawn on both hosts by scoped passes; a full pass then writes nothing', async () => {
  const { result, commands, view } = await change([...local, joining], [endpoints.a, endpoints.b, endpoints.d, endpoints.e, endpoints.r, endpoints.n]);

  expect(result.pass).toBe('scoped');
  expect(mentions(commands, sandboxC)).toBe(true);
  for (const box of [sandboxA, sandboxB, sandboxD, sandboxE]) expect(mentions(commands, box)).toBe(false);
  expect(await run(['ip', '-n', sandboxC.netnsName, 'link', 'show'])).not.toContain('eth0');
  const remoteFdb = await run(['ip', 'netns', 'exec', networkNetnsName(host2.owner, front.vni), 'bridge', 'fdb', 'show']);
  expect(remoteFdb).not.toContain(endpoints.c.mac);
  expect(remoteFdb).toContain(endpoints.a.mac);
  expect(await pings(remote.netnsName, endpoints.a.ip)).toBe(true);
  expect((await reconciler1.reconcile(view)).writes).toBe(0);
});

test("a published port changes the host's firewall whole: other sandboxes' ports stay", async () => {
  const { result, view } = await change([...local, joining], [endpoints.a, endpoints.b, dWithPort, endpoints.e, endpoints.r, endpoints.n]);

  expect(result.pass).toBe('scoped');
  const table = await run(['ip', 'netns', 'exec', host1.ns, 'nft', 'list', 'ruleset']);
  for (const port of ['8081', '8082', '8084']) expect(table).toContain(port);
  expect((await reconciler1.reconcile(view)).writes).toBe(0);
});

test('an endpoint on another host changes only the network namespace it is on', async () => {
  const { result, commands, view } = await change([...local, joining], [endpoints.a, endpoints.b, dWithPort, endpoints.e, endpoints.r, endpoints.n, endpoints.r2]);

  expect(result.pass).toBe('scoped');
  expect(result.actions.length).toBeGreaterThan(0);
  for (const action of result.actions) expect(action).toContain(networkNetnsName(host1.owner, back.vni));
  expect(commands.some((line) => line.includes(networkNetnsName(host1.owner, front.vni)))).toBe(false);
  for (const box of [...local, joining]) expect(mentions(commands, box)).toBe(false);
  expect((await reconciler1.reconcile(view)).writes).toBe(0);
});

test('a removed sandbox leaves with its namespace by a scoped pass; a full pass then writes nothing', async () => {
  const { result, view } = await change([sandboxA, sandboxB, sandboxC, sandboxD, joining], [endpoints.a, endpoints.b, dWithPort, endpoints.r, endpoints.n, endpoints.r2]);

  expect(result.pass).toBe('scoped');
  expect(await netnsNames()).not.toContain(sandboxE.netnsName);
  expect(await pings(sandboxD.netnsName, endpoints.r2.ip)).toBe(true);
  expect((await reconciler1.reconcile(view)).writes).toBe(0);
});
