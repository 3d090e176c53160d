/**
 * MemoryKernel held to the real kernel: the same views (and the same drift) go through a
 * Reconciler over IprouteKernel, in namespaces this test makes, and one over MemoryKernel. Both
 * must plan the same writes and read back the same state, so that what the property tests
 * prove on MemoryKernel holds of the kernel. Needs root.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';
import { FIREWALL_TABLE, IprouteKernel, Kernel, ObservedKernel, ObservedLink, networkNetnsName, networkNetnsPrefix, processRunner } from '../kernel';
import { MemoryKernel } from '../kernel/memory-kernel';
import { createTestHost, deleteNetnsIfPresent, run } from './kernel-test-support';
import { Reconciler } from './reconciler';
import { adoptedNetnsQuery } from './sandbox-placement';

const tag = `trmk${process.pid}`;
const hostNs = `${tag}-h`;
const runtimeNs = `${tag}-ext`;
const owner = tag;
const front = { id: 'net-f', name: 'front', vni: 4601, subnet: '10.231.61.0/24', gateway: '10.231.61.1', mtu: 0, internal: false };
const back = { id: 'net-b', name: 'back', vni: 4602, subnet: '10.231.62.0/24', gateway: '10.231.62.1', mtu: 1400, internal: true };
const created = { id: 'sandbox-a', name: 'a', netnsName: `trsb-${tag}-a`, netnsPath: '' };
const createdToo = { id: 'sandbox-b', name: 'b', netnsName: `trsb-${tag}-b`, netnsPath: '' };
const named = { id: 'sandbox-c', name: 'c', netnsName: `trsb-${tag}-c`, netnsPath: `/run/netns/${runtimeNs}` };
const attached = (pid: number) => ({ id: 'sandbox-d', name: 'd', netnsName: `trsb-${tag}-d`, netnsPath: `/proc/${pid}/ns/net` });

function endpoint(id: string, network: typeof front, sandbox: SandboxView, host: number, parts: { nodeId?: string; vtep?: string; publish?: boolean } = {}) {
  return {
    id, networkId: network.id, sandboxId: sandbox.id, nodeId: parts.nodeId ?? 'node-a', vtep: parts.vtep ?? '198.18.0.1',
    ip: `${network.subnet.slice(0, -4)}${host}`, prefixLength: 24, mac: `02:42:0a:e7:${(network.vni % 100).toString(16).padStart(2, '0')}:${host.toString(16).padStart(2, '0')}`,
    interfaceName: network === front ? 'eth0' : 'eth1', hostname: '', extraHosts: [], dns: [],
    publishedPorts: parts.publish ? [{ protocol: 'tcp', hostPort: 8080, port: 80 }] : [],
  };
}

function viewOf(parts: Pick<NodeView, 'networks' | 'sandboxes' | 'endpoints'>): NodeView {
  return {
    revision: 1, nodeId: 'node-a', nodeName: 'a', advertiseAddr: '198.18.0.1',
    overlaySubnets: parts.networks.map((network) => network.subnet), ...parts,
  };
}

/** A node with sandboxes of every origin on an overlay and an internal network, then changes to each, then nothing. */
const steps: { name: string; view: (pid: number) => NodeView }[] = [
  {
    name: 'every kind of sandbox, a remote endpoint, a published port',
    view: (pid) => viewOf({
      networks: [front, back],
      sandboxes: [created, createdToo, named, attached(pid)],
      endpoints: [
        endpoint('epa00000000000', front, created, 2, { publish: true }),
        endpoint('epa10000000000', back, created, 2),
        endpoint('epb00000000000', back, createdToo, 3),
        endpoint('epc00000000000', front, named, 4),
        endpoint('epd00000000000', back, attached(pid), 5),
        endpoint('epr00000000000', front, { ...created, id: 'remote' }, 9, { nodeId: 'node-b', vtep: '198.18.0.2' }),
      ],
    }),
  },
  {
    name: 'a created and an attached sandbox go, an address and a VTEP change, the internal network empties',
    view: () => viewOf({
      networks: [front, back],
      sandboxes: [created, named],
      endpoints: [
        endpoint('epa00000000000', front, created, 12),
        endpoint('epc00000000000', front, named, 4),
        endpoint('epr00000000000', front, { ...created, id: 'remote' }, 9, { nodeId: 'node-b', vtep: '198.18.0.3' }),
      ],
    }),
  },
  { name: 'nothing', view: () => viewOf({ networks: [], sandboxes: [], endpoints: [] }) },
];

const realKernel = new IprouteKernel(processRunner, { hostNetns: hostNs });
let memoryKernel: MemoryKernel;
let sleeper: ChildProcess;
let realPid = 0;
let memoryPid = 0;

/** The same write on both sides, by hand: what an operator would do. */
interface DriftStep {
  real: string[][];
  memory: (kernel: MemoryKernel) => void;
}

const frontNetns = networkNetnsName(owner, front.vni);

beforeAll(async () => {
  await createTestHost(hostNs, '198.18.0.1');
  await run(['ip', 'netns', 'add', runtimeNs]);
  await run(['ip', '-n', runtimeNs, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'ext1']);
  await run(['ip', '-n', runtimeNs, 'addr', 'add', '192.0.2.1/24', 'dev', 'ext0']);
  sleeper = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
  realPid = sleeper.pid ?? 0;
  const ours = (await run(['stat', '-L', '-c', '%d:%i', '/proc/self/ns/net'])).trim();
  for (let tries = 0; (await run(['stat', '-L', '-c', '%d:%i', `/proc/${realPid}/ns/net`])).trim() === ours; tries += 1) {
    if (tries > 100) throw new Error('unshare --net never took effect');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  const ipForwarding = (await run(['ip', 'netns', 'exec', hostNs, 'sysctl', '-n', 'net.ipv4.ip_forward'])).trim() === '1';
  memoryKernel = new MemoryKernel({ brNetfilter: existsSync('/proc/sys/net/bridge'), ipForwarding });
  memoryKernel.addUnderlay('uplink', 1500, '198.18.0.1/24');
  memoryKernel.addForeignNamespace(runtimeNs);
  memoryPid = memoryKernel.startProcess();
});

afterAll(async () => {
  await new Reconciler({ underlayDevice: 'uplink', owner }, realKernel).removeAll().catch(() => undefined);
  if (sleeper.exitCode === null && sleeper.signalCode === null) sleeper.kill('SIGKILL');
  for (const name of [created, createdToo, named, attached(0)].map((sandbox) => sandbox.netnsName).concat(runtimeNs, hostNs)) {
    await deleteNetnsIfPresent(name).catch(() => undefined);
  }
});

/** Of what is machine-wide, only this test's; MACs the kernel picked and namespace identities reduced to which paths share one. */
function comparable(observed: ObservedKernel, pid: number): unknown {
  const mine = (netns: string) => netns.includes(tag) || netns.startsWith(networkNetnsPrefix(owner));
  const mac = (link: ObservedLink) => (link.mac.startsWith('02:42:') || link.mac === '00:00:00:00:00:00' ? link.mac : 'kernel-chosen');
  const links = (all: ObservedLink[]) => all.map((link) => ({ ...link, mac: mac(link), addresses: [...link.addresses].sort() }));
  const byNetns = <T extends { netns: string }>(all: T[]) => all.filter((item) => mine(item.netns)).sort((a, b) => a.netns.localeCompare(b.netns));
  const ids = new Map<string, string>();
  const netnsIds = Object.entries(observed.netnsIds)
    // The test's agent runs in the root namespace and its host links live in another; MemoryKernel's are one.
    .filter(([path]) => path !== '/proc/self/ns/net' && path !== `/run/netns/${hostNs}`)
    .map(([path, id]) => [path.replace(`/proc/${pid}/`, '/proc/PID/'), id] as const)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, id]) => {
      if (!ids.has(id)) ids.set(id, `namespace ${ids.size}`);
      return [path, ids.get(id)];
    });
  return {
    hostLinks: links(observed.hostLinks),
    networks: byNetns(observed.networks).map((network) => ({
      ...network,
      links: links(network.links),
      fdb: [...network.fdb].sort((a, b) => a.mac.localeCompare(b.mac) || a.dst.localeCompare(b.dst)),
      neighbours: [...network.neighbours].sort((a, b) => a.ip.localeCompare(b.ip)),
    })),
    brokenNetworks: observed.brokenNetworks.filter(mine),
    sandboxes: byNetns(observed.sandboxes).map((sandbox) => ({ ...sandbox, links: links(sandbox.links) })),
    brokenSandboxes: observed.brokenSandboxes.filter(mine),
    netnsIds: Object.fromEntries(netnsIds),
    agentKnown: observed.agentNetnsIds.length > 0,
    ipForwarding: observed.ipForwarding,
    firewall: observed.firewall,
  };
}

function observeFor(kernel: Kernel, view: NodeView): Promise<ObservedKernel> {
  return kernel.observe({ networkNetnsPrefix: networkNetnsPrefix(owner), firewallTable: FIREWALL_TABLE, adopted: adoptedNetnsQuery(view) });
}

/**
 * The real kernel's state once its namespace teardowns have run (they finish in the background,
 * after `ip netns del` returns): read until two reads in a row agree.
 */
async function settledReal(view: NodeView): Promise<ObservedKernel> {
  let last = await observeFor(realKernel, view);
  for (let reads = 0; reads < 100; reads += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await observeFor(realKernel, view);
    if (JSON.stringify(comparable(next, realPid)) === JSON.stringify(comparable(last, realPid))) return next;
    last = next;
  }
  throw new Error('the real kernel never settled');
}

async function bothReadAlike(realView: NodeView, memoryView: NodeView): Promise<void> {
  const [real, memory] = [await settledReal(realView), await observeFor(memoryKernel, memoryView)];
  expect(comparable(memory, memoryPid)).toEqual(comparable(real, realPid));
}

/** Both reconcile; the writes must be the same (but for the PID), and so must what both read back. */
async function passOnBoth(view: (pid: number) => NodeView): Promise<{ writes: number }> {
  await settledReal(view(realPid));
  const realResult = await new Reconciler({ underlayDevice: 'uplink', owner }, realKernel).reconcile(view(realPid));
  const memoryResult = await new Reconciler({ underlayDevice: 'uplink', owner }, memoryKernel).reconcile(view(memoryPid));
  const withoutPid = (pid: number) => (text: string) => text.replaceAll(`${pid}`, 'PID');
  expect(memoryResult.actions.map(withoutPid(memoryPid))).toEqual(realResult.actions.map(withoutPid(realPid)));
  expect(memoryResult.skipped.map(withoutPid(memoryPid))).toEqual(realResult.skipped.map(withoutPid(realPid)));
  await bothReadAlike(view(realPid), view(memoryPid));
  return { writes: realResult.writes };
}

async function driftBoth(drift: DriftStep): Promise<void> {
  for (const argv of drift.real) await run(argv);
  drift.memory(memoryKernel);
}

describe('MemoryKernel against the real kernel', () => {
  test('before anything, both read the same host', async () => {
    const view = steps[0]?.view;
    if (view === undefined) throw new Error('no steps');
    await bothReadAlike(view(realPid), view(memoryPid));
  });

  test.each(steps.map((step, index) => [index, step.name] as const))('step %d (%s): the same writes, the same state, then no writes', async (index) => {
    const step = steps[index];
    if (step === undefined) throw new Error('no such step');
    expect((await passOnBoth(step.view)).writes).toBeGreaterThan(0);
    expect(await passOnBoth(step.view)).toEqual({ writes: 0 });
  });

  test('drift by hand is read alike and repaired alike', async () => {
    const step = steps[0];
    if (step === undefined) throw new Error('no steps');
    await passOnBoth(step.view);
    const vethA = 'trve-epa0000000';
    const driftSteps: DriftStep[] = [
      { real: [['ip', '-n', frontNetns, 'link', 'set', 'dev', vethA, 'mtu', '1300']], memory: (k) => k.drift.setMtu(frontNetns, vethA, 1300) },
      { real: [['ip', '-n', frontNetns, 'link', 'set', 'dev', vethA, 'nomaster']], memory: (k) => k.drift.setMaster(frontNetns, vethA, undefined) },
      { real: [['bridge', '-n', frontNetns, 'fdb', 'del', '02:42:0a:e7:01:09', 'dev', `trvx-${front.vni}`, 'self']], memory: (k) => k.drift.removeFdb(frontNetns, `trvx-${front.vni}`, '02:42:0a:e7:01:09') },
      { real: [['ip', '-n', created.netnsName, 'addr', 'del', '172.29.0.2/16', 'dev', 'gw0']], memory: (k) => k.drift.detachAddress(created.netnsName, 'gw0', '172.29.0.2/16') },
      { real: [['ip', '-n', frontNetns, 'link', 'del', 'dev', `trvx-${front.vni}`]], memory: (k) => k.drift.deleteLink(frontNetns, `trvx-${front.vni}`) },
      { real: [['ip', 'netns', 'del', createdToo.netnsName]], memory: (k) => k.drift.deleteNamespace(createdToo.netnsName) },
    ];
    for (const drift of driftSteps) await driftBoth(drift);
    await bothReadAlike(step.view(realPid), step.view(memoryPid));
    expect((await passOnBoth(step.view)).writes).toBeGreaterThan(0);
    expect(await passOnBoth(step.view)).toEqual({ writes: 0 });
  });
});
