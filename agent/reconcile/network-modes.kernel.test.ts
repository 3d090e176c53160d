/**
 * Sandbox network modes against the real kernel, on one "host" (a namespace the test makes):
 * "host" (the host's own namespace under the sandbox's name, nothing written in it), "none"
 * (loopback only) and a namespace shared by two sandboxes (Docker's --network container:X),
 * removed in either order. Needs root.
 */
import { NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';
import { IprouteKernel, processRunner } from '../kernel';
import { createTestHost, deleteNetnsIfPresent, netnsNames, run } from './kernel-test-support';
import { Reconciler } from './reconciler';
import { PLAIN_ENDPOINT } from './test-fixtures';

const tag = `trkm${process.pid}`;
const hostNs = `${tag}-h`;
const hostIp = '198.18.11.1';
const plain = { networkMode: '', sharesNetns: false, netnsPath: '' };
const hostMode: SandboxView = { ...plain, id: 'sandbox-host', name: 'onhost', netnsName: `trsb-${tag}-host`, networkMode: 'host' };
const noneMode: SandboxView = { ...plain, id: 'sandbox-none', name: 'alone', netnsName: `trsb-${tag}-none`, networkMode: 'none' };
const sharedName = `trsb-${tag}-shared`;
const first: SandboxView = { ...plain, id: 'sandbox-first', name: 'first', netnsName: sharedName, sharesNetns: true };
const second: SandboxView = { ...plain, id: 'sandbox-second', name: 'second', netnsName: sharedName, sharesNetns: true };
const network = {
  id: 'net-m', name: 'modes', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false,
  vni: 4545, subnet: '10.231.11.0/24', gateway: '10.231.11.1', mtu: 0, internal: true,
};
const firstEndpoint = {
  id: 'epfirst0000000', networkId: network.id, sandboxId: first.id, nodeId: 'node-m', vtep: hostIp,
  ip: '10.231.11.2', prefixLength: 24, mac: '02:42:0a:e7:0b:02', interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [],
  publishedPorts: [], ...PLAIN_ENDPOINT,
};

function viewOf(sandboxes: SandboxView[]): NodeView {
  const endpoints = sandboxes.includes(first) ? [firstEndpoint] : [];
  return {
    revision: 1, nodeId: 'node-m', nodeName: hostNs, advertiseAddr: hostIp, networks: endpoints.length > 0 ? [network] : [],
    sandboxes, endpoints, members: [], overlaySubnets: [network.subnet], services: [],
  };
}

const newReconciler = () => new Reconciler({ underlayDevice: 'uplink', owner: tag }, new IprouteKernel(processRunner, { hostNetns: hostNs }));
let reconciler = newReconciler();
const converged = { writes: 0, actions: [], applied: [], skipped: [], unprogrammedEndpointIds: [], pass: 'full' };

/** What a user sees of a namespace: every link with its flags, alias and addresses, and its routes. */
async function namespaceState(netns: string): Promise<unknown> {
  const links = JSON.parse(await run(['ip', '-n', netns, '-j', '-d', 'addr', 'show'])) as Record<string, unknown>[];
  const routes = await run(['ip', '-n', netns, '-j', 'route', 'show']);
  return { links: links.map(({ ifname, ifindex, flags, ifalias, address, addr_info }) => ({ ifname, ifindex, flags, ifalias, address, addr_info })), routes };
}

async function linkNames(netns: string): Promise<string[]> {
  return (JSON.parse(await run(['ip', '-n', netns, '-j', 'link', 'show'])) as { ifname: string }[]).map((link) => link.ifname).sort();
}

/** Whether two names lead to one namespace. */
async function sameNamespace(a: string, b: string): Promise<boolean> {
  const id = async (name: string) => (await run(['stat', '-L', '-c', '%d:%i', `/run/netns/${name}`])).trim();
  return (await id(a)) === (await id(b));
}

beforeAll(async () => {
  await createTestHost(hostNs, hostIp);
});

afterAll(async () => {
  await reconciler.removeAll().catch(() => undefined);
  for (const name of [hostMode.netnsName, noneMode.netnsName, sharedName, hostNs]) await deleteNetnsIfPresent(name).catch(() => undefined);
});

describe('network mode "host"', () => {
  let before: unknown;

  beforeAll(async () => {
    before = await namespaceState(hostNs);
  });

  test("the sandbox's name enters the host's namespace, and nothing is written in it", async () => {
    const result = await reconciler.reconcile(viewOf([hostMode]));

    expect(result.skipped).toEqual([]);
    expect(result.actions).toEqual([`ip netns attach ${hostMode.netnsName} $$`]);
    expect(await sameNamespace(hostMode.netnsName, hostNs)).toBe(true);
    expect(await linkNames(hostMode.netnsName)).toEqual(['lo', 'uplink', 'uplink-peer']);
    expect(await namespaceState(hostNs)).toEqual(before);
  });

  test('a second pass, and a restarted agent, write nothing', async () => {
    expect(await reconciler.reconcile(viewOf([hostMode]))).toEqual(converged);
    reconciler = newReconciler();
    expect(await reconciler.reconcile(viewOf([hostMode]))).toEqual(converged);
  });

  test('beside sandboxes of the agent, the host namespace is left as it was', async () => {
    await reconciler.reconcile(viewOf([hostMode, noneMode, first]));
    expect(await reconciler.reconcile(viewOf([hostMode, noneMode, first]))).toMatchObject({ writes: 0, skipped: [] });
    await reconciler.reconcile(viewOf([hostMode]));

    expect(await namespaceState(hostNs)).toEqual(before);
    expect(await netnsNames()).not.toContain(noneMode.netnsName);
  });

  test('removing the sandbox only takes its name away', async () => {
    const result = await reconciler.reconcile(viewOf([]));

    expect(result.actions).toEqual([`ip netns del ${hostMode.netnsName}`]);
    expect(await netnsNames()).not.toContain(hostMode.netnsName);
    expect(await namespaceState(hostNs)).toEqual(before);
  });

  test('a scoped pass attaches and removes it as a full pass does', async () => {
    await reconciler.reconcile(viewOf([noneMode]));

    expect((await reconciler.reconcileChange(viewOf([noneMode, hostMode]))).pass).toBe('scoped');
    expect(await sameNamespace(hostMode.netnsName, hostNs)).toBe(true);
    expect(await reconciler.reconcile(viewOf([noneMode, hostMode]))).toEqual(converged);
    expect(await reconciler.reconcileChange(viewOf([noneMode]))).toMatchObject({ pass: 'scoped', actions: [`ip netns del ${hostMode.netnsName}`] });
    expect(await namespaceState(hostNs)).toEqual(before);
  });

  test('removeAll takes the name away too, and nothing else', async () => {
    await reconciler.reconcile(viewOf([hostMode]));

    await reconciler.removeAll();

    expect(await netnsNames()).not.toContain(hostMode.netnsName);
    expect(await namespaceState(hostNs)).toEqual(before);
  });
});

describe('network mode "none"', () => {
  test('has only lo, up', async () => {
    await reconciler.reconcile(viewOf([noneMode]));

    const links = JSON.parse(await run(['ip', '-n', noneMode.netnsName, '-j', 'link', 'show'])) as { ifname: string; flags: string[] }[];
    expect(links.map((link) => link.ifname)).toEqual(['lo']);
    expect(links[0]?.flags).toContain('UP');
    expect(await reconciler.reconcile(viewOf([noneMode]))).toEqual(converged);
  });

  test('an endpoint given to it anyway is refused, not programmed', async () => {
    const view = viewOf([noneMode]);
    const result = await reconciler.reconcile({ ...view, networks: [network], endpoints: [{ ...firstEndpoint, sandboxId: noneMode.id }] });

    expect(result.unprogrammedEndpointIds).toEqual([firstEndpoint.id]);
    expect(await linkNames(noneMode.netnsName)).toEqual(['lo']);
    await reconciler.reconcile(viewOf([]));
  });
});

describe('one namespace shared by two sandboxes', () => {
  test("the second sandbox sees the first's interfaces; a second pass writes nothing", async () => {
    const result = await reconciler.reconcile(viewOf([first, second]));

    expect(result.skipped).toEqual([]);
    expect(result.actions.filter((action) => action.startsWith('ip netns add trsb-'))).toEqual([`ip netns add ${sharedName}`]);
    expect(await linkNames(sharedName)).toEqual(['eth0', 'lo']);
    expect(await reconciler.reconcile(viewOf([first, second]))).toEqual(converged);
    expect(await reconciler.reconcile(viewOf([second, first]))).toEqual(converged);
  });

  test('removing the first leaves the namespace to the second, without its interfaces', async () => {
    await reconciler.reconcile(viewOf([first, second]));
    const namespace = (await run(['stat', '-L', '-c', '%d:%i', `/run/netns/${sharedName}`])).trim();

    await reconciler.reconcile(viewOf([second]));

    expect((await run(['stat', '-L', '-c', '%d:%i', `/run/netns/${sharedName}`])).trim()).toBe(namespace);
    expect(await linkNames(sharedName)).toEqual(['lo']);
    expect(await reconciler.reconcile(viewOf([second]))).toEqual(converged);
    await reconciler.reconcile(viewOf([]));
    expect(await netnsNames()).not.toContain(sharedName);
  });

  test('removing the second leaves the namespace, interfaces and all, to the first', async () => {
    await reconciler.reconcile(viewOf([first, second]));

    expect((await reconciler.reconcile(viewOf([first]))).writes).toBe(0);
    expect(await linkNames(sharedName)).toEqual(['eth0', 'lo']);
    await reconciler.reconcile(viewOf([]));
    expect(await netnsNames()).not.toContain(sharedName);
  });
});
