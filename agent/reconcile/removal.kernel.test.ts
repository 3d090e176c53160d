/**
 * Removal against the real kernel: many sandboxes the agent created on two networks, one
 * process's namespace it attached, and remote endpoints (FDB and neighbour entries), in one
 * "host" namespace the test makes. Created namespaces take their veths along when deleted; an
 * attached one outlives its name, so its interface is deleted on its own. Needs root.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { EndpointView, NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';
import { IprouteKernel, KernelApplyError, hostVethName, inNetns, ipAction, networkNetnsPrefix, processRunner } from '../kernel';
import { createTestHost, deleteNetnsIfPresent, netnsNames, run, settled } from './kernel-test-support';
import { Reconciler } from './reconciler';

const tag = `trkr${process.pid}`;
const hostNs = `${tag}-h`;
const SANDBOXES_PER_NETWORK = 15;
const networks = [0, 1].map((n) => ({
  id: `net-${n}`, name: `n${n}`, driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 4360 + n, subnet: `10.231.${20 + n}.0/24`, gateway: `10.231.${20 + n}.1`, mtu: 0, internal: false,
}));
const created: SandboxView[] = networks.flatMap((_, n) =>
  Array.from({ length: SANDBOXES_PER_NETWORK }, (__, i) => ({ id: `sb${n}x${i}`, name: `s${n}x${i}`, netnsName: `trsb-${tag}-${n}x${i}`, networkMode: '', sharesNetns: false, netnsPath: '' })),
);
const attachName = `trsb-${tag}-p`;
const ourPrefix = networkNetnsPrefix(tag);

function endpoint(sandboxId: string, network: number, host: number, nodeId = 'node-a', vtep = '198.18.9.1'): EndpointView {
  return {
    id: `ep${network}h${String(host).padStart(3, '0')}`.padEnd(15, '0'), networkId: `net-${network}`, sandboxId, nodeId, vtep,
    ip: `10.231.${20 + network}.${host}`, prefixLength: 24, mac: `02:42:0a:e7:${20 + network}:${host.toString(16).padStart(2, '0')}`,
    interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
  };
}
const localEndpoints = created.map((sandbox, index) => endpoint(sandbox.id, Math.floor(index / SANDBOXES_PER_NETWORK), (index % SANDBOXES_PER_NETWORK) + 2));
const remoteEndpoints = networks.map((_, n) => endpoint(`remote${n}`, n, 200, 'node-b', '198.18.9.2'));

function viewOf(sandboxes: SandboxView[], endpoints: EndpointView[]): NodeView {
  return {
    revision: 1, nodeId: 'node-a', nodeName: hostNs, advertiseAddr: '198.18.9.1', networks,
    sandboxes, endpoints: [...endpoints, ...remoteEndpoints], members: [], overlaySubnets: networks.map((network) => network.subnet), services: [],
  };
}
const everything = viewOf(created, localEndpoints);
const kernel = new IprouteKernel(processRunner, { hostNetns: hostNs });
const reconciler = new Reconciler({ underlayDevice: 'uplink', owner: tag }, kernel);

async function linkNames(enter: string[]): Promise<string[]> {
  return (JSON.parse(await run([...enter, 'ip', '-j', 'link', 'show'])) as { ifname: string }[]).map((link) => link.ifname);
}
const inNamespace = (name: string) => ['nsenter', `--net=/run/netns/${name}`];

async function ourNetworkNamespaces(): Promise<string[]> {
  return (await netnsNames()).filter((name) => name.startsWith(ourPrefix));
}

/** What the host namespace and our network namespaces hold of veths of ours. */
async function ourVeths(): Promise<string[]> {
  const inHost = (await linkNames(inNamespace(hostNs))).filter((name) => /^tr(gw|ve)-/.test(name));
  const inNetworks = await Promise.all((await ourNetworkNamespaces()).map(async (netns) => (await linkNames(inNamespace(netns))).filter((name) => name.startsWith('trve-'))));
  return [...inHost, ...inNetworks.flat()];
}

beforeAll(async () => {
  await createTestHost(hostNs, '198.18.9.1');
});

afterAll(async () => {
  await reconciler.removeAll().catch(() => undefined);
  for (const name of [...created.map((sandbox) => sandbox.netnsName), attachName, hostNs]) await deleteNetnsIfPresent(name).catch(() => undefined);
});

describe('removing many sandboxes the agent created', () => {
  beforeAll(async () => {
    await reconciler.reconcile(everything);
  });

  test('deletes their namespaces and no veth: the kernel takes both ends along, and nothing of theirs is left', async () => {
    expect((await ourVeths()).length).toBe(created.length * 2);

    const removal = await reconciler.reconcile(viewOf([], []));

    expect(removal.actions.filter((action) => / link del dev tr(ve|gw)-/.test(action))).toEqual([]);
    expect(removal.actions.filter((action) => action.startsWith('ip netns del trsb-'))).toHaveLength(created.length);
    const names = await netnsNames();
    expect(created.filter((sandbox) => names.includes(sandbox.netnsName))).toEqual([]);
    expect(await settled(ourVeths, (veths) => veths.length === 0)).toEqual([]);
    expect((await reconciler.reconcile(viewOf([], []))).writes).toBe(0);
  });

  test('removing everything leaves no namespace, link or entry of ours, and the same networks can come straight back', async () => {
    await reconciler.reconcile(everything);

    await reconciler.removeAll();

    expect(await ourNetworkNamespaces()).toEqual([]);
    expect((await netnsNames()).filter((name) => name.startsWith(`trsb-${tag}`))).toEqual([]);
    expect(await settled(() => linkNames(inNamespace(hostNs)), (names) => !names.some((name) => name.startsWith('tr')))).toEqual(['lo', 'uplink-peer', 'uplink']);
    // Each VXLAN device was deleted before its namespace, so its VNI is free at once for the network's return.
    await reconciler.reconcile(everything);
    const fdb = await run([...inNamespace(`${ourPrefix}${networks[0]?.vni ?? 0}`), 'bridge', 'fdb', 'show', 'dev', `trvx-${networks[0]?.vni ?? 0}`]);
    expect(fdb).toMatch(/^02:42:0a:e7:20:c8 dst 198\.18\.9\.2 .*self permanent$/m);
    await reconciler.removeAll();
    expect(await ourNetworkNamespaces()).toEqual([]);
  });
});

describe("removing a process's namespace the agent attached", () => {
  let sleeper: ChildProcess;
  let pid = 0;

  beforeAll(async () => {
    sleeper = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    pid = sleeper.pid ?? 0;
    const ours = await run(['readlink', '/proc/self/ns/net']);
    // unshare execs sleep in the same process; until it has unshared, the PID is still in our namespace.
    for (let tries = 0; (await run(['readlink', `/proc/${pid}/ns/net`])) === ours; tries += 1) {
      if (tries > 100) throw new Error('unshare --net never took effect');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterAll(() => {
    if (sleeper.exitCode === null && sleeper.signalCode === null) process.kill(pid, 'SIGKILL');
  });

  test('takes its interface out at once, among created ones going whole; the process keeps its namespace', async () => {
    const attached = { id: 'sbproc', name: 'proc', netnsName: attachName, networkMode: '', sharesNetns: false, netnsPath: `/proc/${pid}/ns/net` };
    const attachedEndpoint = endpoint(attached.id, 0, 100);
    await reconciler.reconcile(viewOf([...created, attached], [...localEndpoints, attachedEndpoint]));
    const enterProcess = ['nsenter', `--net=/proc/${pid}/ns/net`];
    const lo = JSON.parse(await run([...enterProcess, 'ip', '-j', 'link', 'show', 'lo'])) as { ifalias?: string }[];
    expect(lo[0]?.ifalias).toBe(`trellis-attached=${tag}`);
    expect(await linkNames(enterProcess)).toContain('eth0');

    const removal = await reconciler.reconcile(viewOf([], []));

    expect(removal.actions).toContain(`ip -n ${ourPrefix}${networks[0]?.vni ?? 0} link del dev ${hostVethName(attachedEndpoint.id)}`);
    expect(await netnsNames()).not.toContain(attachName);
    // No waiting: the interface was deleted on its own, not left to a teardown that never comes.
    expect(await linkNames(enterProcess)).toEqual(['lo']);
  });
});

describe('a delete of what the kernel already removed', () => {
  const scratch = `${tag}-x`;

  beforeAll(async () => {
    await run(['ip', 'netns', 'add', scratch]);
    await run(['ip', '-n', scratch, 'link', 'add', 'trve-present', 'type', 'veth', 'peer', 'name', 'trve-peer']);
  });

  afterAll(async () => {
    await deleteNetnsIfPresent(scratch);
  });

  test('counts as done, and the batch goes on; any other failure still fails', async () => {
    const scope = inNetns(scratch);

    await kernel.apply([ipAction(scope, 'link', 'del', 'dev', 'trve-peer'), ipAction(scope, 'link', 'del', 'dev', 'trve-present')]);

    expect(await linkNames(inNamespace(scratch))).toEqual(['lo']);
    await expect(kernel.apply([ipAction(scope, 'link', 'set', 'dev', 'trve-present', 'up')])).rejects.toThrow(KernelApplyError);
  });
});
