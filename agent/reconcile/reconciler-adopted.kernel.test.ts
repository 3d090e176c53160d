/**
 * Adopted namespaces against the real kernel: one "host" namespace with a sandbox of the agent's
 * own, plus namespaces a container runtime would have made, which the test makes itself (by name,
 * and as a process's namespace with `unshare --net sleep`). The agent must put its endpoint into
 * them and take only that back out. Needs root.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';
import { IprouteKernel, processRunner } from '../kernel';
import { createTestHost, deleteNetnsIfPresent, netnsNames, pings, run } from './kernel-test-support';
import { Reconciler } from './reconciler';

const tag = `trka${process.pid}`;
const hostNs = `${tag}-h`;
const runtimeNs = `${tag}-cni`;
const lateNs = `${tag}-late`;
const network = { id: 'net-a', name: 'front', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 4343, subnet: '10.231.9.0/24', gateway: '10.231.9.1', mtu: 0, internal: false };
const own = { id: 'sandbox-own', name: 'own', netnsName: `trsb-${tag}-own`, networkMode: '', sharesNetns: false, netnsPath: '' };
const byName = { id: 'sandbox-cni', name: 'cni', netnsName: `trsb-${tag}-cni`, networkMode: '', sharesNetns: false, netnsPath: `/run/netns/${runtimeNs}` };
const byLateName = { id: 'sandbox-late', name: 'late', netnsName: `trsb-${tag}-late`, networkMode: '', sharesNetns: false, netnsPath: `/run/netns/${lateNs}` };
const attachName = `trsb-${tag}-p`;

function endpointIn(sandbox: SandboxView, id: string, host: number) {
  return {
    id, networkId: network.id, sandboxId: sandbox.id, nodeId: 'node-a', vtep: '198.18.9.1',
    ip: `10.231.9.${host}`, prefixLength: 24, mac: `02:42:0a:e7:09:0${host}`, interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [],
    publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
  };
}
const ownEndpoint = endpointIn(own, 'epown0000000000', 2);

function viewOf(...sandboxes: { sandbox: SandboxView; endpoint: ReturnType<typeof endpointIn> }[]): NodeView {
  const all = [{ sandbox: own, endpoint: ownEndpoint }, ...sandboxes];
  return {
    revision: 1, nodeId: 'node-a', nodeName: hostNs, advertiseAddr: '198.18.9.1', networks: [network],
    sandboxes: all.map((s) => s.sandbox), endpoints: all.map((s) => s.endpoint), members: [], overlaySubnets: [network.subnet], services: [],
  };
}
const ownOnly = viewOf();

const reconciler = new Reconciler({ underlayDevice: 'uplink', owner: tag }, new IprouteKernel(processRunner, { hostNetns: hostNs }));

async function netnsId(path: string): Promise<string> {
  return (await run(['stat', '-L', '-c', '%d:%i', path])).trim();
}

/** The links of a namespace as its maker would check them: names, flags, alias, addresses. */
async function linksIn(enter: string[]): Promise<unknown[]> {
  const links = JSON.parse(await run([...enter, 'ip', '-j', 'addr', 'show'])) as Record<string, unknown>[];
  return links.map(({ ifname, flags, ifalias, addr_info }) => ({ ifname, flags, ifalias, addr_info }));
}
const inNetns = (name: string) => ['ip', 'netns', 'exec', name];

beforeAll(async () => {
  await createTestHost(hostNs, '198.18.9.1');
});

afterAll(async () => {
  await reconciler.removeAll().catch(() => undefined);
  for (const name of [runtimeNs, lateNs, own.netnsName, attachName, hostNs]) await deleteNetnsIfPresent(name).catch(() => undefined);
});

describe('a namespace adopted by its /run/netns name', () => {
  const endpoint = endpointIn(byName, 'epcni0000000000', 3);
  const adopted = viewOf({ sandbox: byName, endpoint });
  let asMadeByRuntime: unknown[] = [];

  beforeAll(async () => {
    // What a runtime leaves: its own veth pair and address; lo untouched (down).
    await run(['ip', 'netns', 'add', runtimeNs]);
    await run(['ip', '-n', runtimeNs, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'ext1']);
    await run(['ip', '-n', runtimeNs, 'addr', 'add', '192.0.2.1/24', 'dev', 'ext0']);
    asMadeByRuntime = await linksIn(inNetns(runtimeNs));
  });

  test('gets the endpoint interface, reachable from a sandbox of the agent', async () => {
    const result = await reconciler.reconcile(adopted);

    expect(result.skipped).toEqual([]);
    expect(result.actions.filter((action) => action.includes(`netns add ${runtimeNs}`))).toEqual([]);
    expect(await run(['ip', '-n', runtimeNs, 'addr', 'show', 'dev', 'eth0'])).toContain(`${endpoint.ip}/24`);
    expect(await pings(runtimeNs, ownEndpoint.ip)).toBe(true);
    expect(await pings(own.netnsName, endpoint.ip)).toBe(true);
  });

  test('a second pass writes nothing', async () => {
    expect(await reconciler.reconcile(adopted)).toEqual({ writes: 0, actions: [], applied: [], skipped: [], unprogrammedEndpointIds: [], pass: 'full' });
  });

  test('removing the sandbox takes out only its interface; the namespace stays as its maker left it', async () => {
    await reconciler.reconcile(ownOnly);

    expect(await netnsNames()).toContain(runtimeNs);
    expect(await linksIn(inNetns(runtimeNs))).toEqual(asMadeByRuntime);
    await reconciler.removeAll();
    expect(await linksIn(inNetns(runtimeNs))).toEqual(asMadeByRuntime);
  });

  test('a namespace not there yet is skipped, never made, and adopted once it appears', async () => {
    const late = viewOf({ sandbox: byLateName, endpoint: endpointIn(byLateName, 'eplate000000000', 4) });

    const early = await reconciler.reconcile(late);

    expect(early.skipped).toEqual([`sandbox namespace /run/netns/${lateNs}: does not exist (yet)`]);
    expect(await netnsNames()).not.toContain(lateNs);
    await run(['ip', 'netns', 'add', lateNs]);
    expect((await reconciler.reconcile(late)).skipped).toEqual([]);
    expect(await pings(lateNs, ownEndpoint.ip)).toBe(true);
  });
});

describe("a process's namespace adopted by /proc/PID/ns/net", () => {
  let sleeper: ChildProcess;
  let pid = 0;
  let processNs = '';
  let enterProcess: string[] = [];

  async function adoptedView(): Promise<NodeView> {
    const sandbox = { id: 'sandbox-proc', name: 'proc', netnsName: attachName, networkMode: '', sharesNetns: false, netnsPath: `/proc/${pid}/ns/net` };
    return viewOf({ sandbox, endpoint: endpointIn(sandbox, 'epproc000000000', 5) });
  }

  beforeAll(async () => {
    sleeper = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    pid = sleeper.pid ?? 0;
    const ours = await netnsId('/proc/self/ns/net');
    // unshare execs sleep in the same process; until it has unshared, the PID is still in our namespace.
    for (let tries = 0; (processNs = await netnsId(`/proc/${pid}/ns/net`)) === ours; tries += 1) {
      if (tries > 100) throw new Error('unshare --net never took effect');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    enterProcess = ['nsenter', `--net=/proc/${pid}/ns/net`];
    await run([...enterProcess, 'ip', 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'ext1']);
  });

  afterAll(() => {
    if (sleeper.exitCode === null && sleeper.signalCode === null) process.kill(pid, 'SIGKILL');
  });

  test("attaches it under the sandbox's name and puts the endpoint into the process's namespace", async () => {
    const view = await adoptedView();

    const result = await reconciler.reconcile(view);

    expect(result.skipped).toEqual([]);
    expect(result.actions).toContain(`ip netns attach ${attachName} ${pid}`);
    expect(await netnsId(`/run/netns/${attachName}`)).toBe(processNs);
    expect(await run([...enterProcess, 'ip', 'addr', 'show', 'dev', 'eth0'])).toContain('10.231.9.5/24');
    expect(await pings(attachName, ownEndpoint.ip)).toBe(true);
    expect((await reconciler.reconcile(view)).writes).toBe(0);
  });

  test('removing the sandbox unmounts the name only: the process keeps its namespace, without our interface', async () => {
    await reconciler.reconcile(ownOnly);

    expect(await netnsNames()).not.toContain(attachName);
    expect(await netnsId(`/proc/${pid}/ns/net`)).toBe(processNs);
    const links = (await linksIn(enterProcess)) as { ifname: string; flags: string[] }[];
    expect(links.map((link) => link.ifname).sort()).toEqual(['ext0', 'ext1', 'lo']);
    expect(links.find((link) => link.ifname === 'lo')?.flags).not.toContain('UP');
  });

  test('a process that exits loses its endpoint; its name stays, so a reused PID is never adopted, until the sandbox goes', async () => {
    const view = await adoptedView();
    await reconciler.reconcile(view);
    sleeper.kill('SIGKILL');
    await once(sleeper, 'exit');

    const afterExit = await reconciler.reconcile(view);

    expect(afterExit.skipped).toEqual([expect.stringContaining(`process ${pid} no longer holds the namespace attached as ${attachName}`)]);
    expect(await netnsNames()).toContain(attachName);
    expect(await run(['ip', '-n', attachName, 'link', 'show'])).not.toContain('eth0');
    expect((await reconciler.reconcile(view)).writes).toBe(0);
    await reconciler.reconcile(ownOnly);
    expect(await netnsNames()).not.toContain(attachName);
  });
});
