/**
 * A bridge network on a real kernel (needs root), in namespaces the test makes: a host and an
 * outside host on an underlay of their own, two sandboxes on a bridge network and one on an
 * overlay network. Created, left alone when right, repaired after changes by hand, removed; and
 * the traffic a user checks: sandboxes reach each other (not with icc=false), the outside through
 * masquerade, published ports from outside and from sandboxes of the same host (hairpin), and
 * never the overlay sandbox.
 */
import { ChildProcess } from 'node:child_process';
import type { EndpointView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { connect, startServer } from '../firewall/kernel-test-traffic';
import { FIREWALL_TABLE, IprouteKernel, localBridgeName, networkNetnsName, processRunner } from '../kernel';
import { createUnderlay, deleteNetnsIfPresent, netnsNames, run, settled } from './kernel-test-support';
import { Reconciler } from './reconciler';
import { PLAIN_ENDPOINT } from './test-fixtures';

const tag = `trbk${process.pid}`;
const owner = tag;
const HOST = { ns: `${tag}-h`, ip: '198.18.77.1' };
const OUTSIDE = { ns: `${tag}-o`, ip: '198.18.77.2' };
const UNDERLAY = `${tag}-u`;
const VNI = 4477;
const LAN_ID = `lan${tag}`;
const BRIDGE = localBridgeName(LAN_ID);
const SERVICE_PORT = 80;
const OUTSIDE_PORT = 7000;
const PUBLISHED = 8080;
/** The overlay sandbox's address. */
const OVERLAY_ADDRESS = '10.233.9.2';

const sandboxes = ['a', 'b', 'c', 'd'].map((name) => ({ id: `sb-${name}`, name, netnsName: `trsb-${tag}-${name}`, netnsPath: '', networkMode: '', sharesNetns: false }));
const [A, B, C, D] = sandboxes.map((sandbox) => sandbox.netnsName) as [string, string, string, string];
const INNER_ID = `inner${tag}`;

function endpoint(name: string, networkId: string, ip: string, mac: string, fields: Partial<EndpointView> = {}): EndpointView {
  return {
    id: `ep${name}${tag}`, networkId, sandboxId: `sb-${name}`, nodeId: 'node-1', vtep: HOST.ip, ip, prefixLength: 24, mac,
    interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [], publishedPorts: [], ...PLAIN_ENDPOINT, ...fields,
  };
}

function viewOf(isolateSandboxes: boolean): NodeView {
  return {
    revision: 1, nodeId: 'node-1', nodeName: HOST.ns, advertiseAddr: HOST.ip, members: [], services: [], overlaySubnets: ['10.233.9.0/24'],
    networks: [
      {
        id: LAN_ID, name: 'lan', driver: 'bridge', vni: 0, subnet: '10.233.1.0/24', gateway: '10.233.1.1', mtu: 0, internal: false,
        subnets: [{ subnet: '10.233.1.0/24', gateway: '10.233.1.1' }, { subnet: '10.233.2.0/24', gateway: '10.233.2.1' }],
        parent: '', mode: '', isolateSandboxes,
      },
      {
        id: INNER_ID, name: 'inner', driver: 'bridge', vni: 0, subnet: '10.233.3.0/24', gateway: '10.233.3.1', mtu: 0, internal: true,
        subnets: [], parent: '', mode: '', isolateSandboxes: false,
      },
      { id: 'ovl', name: 'ovl', driver: '', vni: VNI, subnet: '10.233.9.0/24', gateway: '10.233.9.1', mtu: 0, internal: false, subnets: [], parent: '', mode: '', isolateSandboxes: false },
    ],
    sandboxes,
    endpoints: [
      endpoint('a', LAN_ID, '10.233.1.2', '02:42:0a:e9:01:02', { publishedPorts: [{ protocol: 'tcp', hostPort: PUBLISHED, port: SERVICE_PORT }] }),
      endpoint('b', LAN_ID, '10.233.1.3', '02:42:0a:e9:01:03'),
      endpoint('c', 'ovl', OVERLAY_ADDRESS, '02:42:0a:e9:09:02'),
      endpoint('d', INNER_ID, '10.233.3.2', '02:42:0a:e9:03:02'),
    ],
  };
}

const reconciler = new Reconciler({ underlayDevice: 'uplink', owner }, new IprouteKernel(processRunner, { hostNetns: HOST.ns }));
const servers: ChildProcess[] = [];
/** The sandboxes' servers, which keep their namespaces alive until they are stopped. */
const sandboxServers: ChildProcess[] = [];
const inHost = (...argv: string[]) => run(['ip', 'netns', 'exec', HOST.ns, ...argv]);
const gateways = async () =>
  (JSON.parse(await run(['ip', '-n', HOST.ns, '-4', '-j', 'addr', 'show', 'dev', BRIDGE])) as { addr_info: { local: string; prefixlen: number }[] }[])
    .flatMap((link) => link.addr_info.map((address) => `${address.local}/${address.prefixlen}`)).sort();
const isolatedPort = async (name: string) =>
  (JSON.parse(await run(['ip', '-n', HOST.ns, '-j', '-d', 'link', 'show', 'dev', name])) as { linkinfo?: { info_slave_data?: { isolated?: boolean } } }[])[0]
    ?.linkinfo?.info_slave_data?.isolated;
/** How a connection the firewall or port isolation stops ends: unanswered, or refused by the asker's own ARP. */
const blocked = expect.stringMatching(/^(timeout|error EHOSTUNREACH)$/);
const ourHostLinks = async () => (await run(['ip', '-n', HOST.ns, '-o', 'link', 'show'])).split('\n').filter((line) => / (trlb-|trve-|trgw-|trellis_gw)/.test(line));

/** A full pass that changes something, then one that writes nothing. */
async function convergesInOnePass(view: NodeView): Promise<void> {
  expect((await reconciler.reconcile(view)).writes).toBeGreaterThan(0);
  expect((await reconciler.reconcile(view)).actions).toEqual([]);
}

beforeAll(async () => {
  await createUnderlay(UNDERLAY, [HOST, OUTSIDE]);
  // The host routes everything else to the outside, which also holds an address of the overlay
  // subnet: only the firewall keeps a bridge sandbox from reaching it.
  await run(['ip', '-n', HOST.ns, 'route', 'add', 'default', 'via', OUTSIDE.ip]);
  await run(['ip', '-n', OUTSIDE.ns, 'addr', 'add', `${OVERLAY_ADDRESS}/32`, 'dev', 'lo']);
  servers.push(await startServer(OUTSIDE.ns, [OUTSIDE_PORT, SERVICE_PORT]));
});

afterAll(async () => {
  for (const server of [...servers, ...sandboxServers]) server.kill();
  await reconciler.removeAll().catch(() => undefined);
  for (const name of [A, B, C, D, networkNetnsName(owner, VNI), HOST.ns, OUTSIDE.ns, UNDERLAY]) await deleteNetnsIfPresent(name).catch(() => undefined);
});

describe('a bridge network on a real kernel', () => {
  test('is created: a bridge in the host namespace with every gateway, a veth per sandbox on it; a second pass writes nothing', async () => {
    await convergesInOnePass(viewOf(false));
    expect(await gateways()).toEqual(['10.233.1.1/24', '10.233.2.1/24']);
    expect(await run(['ip', '-n', A, 'route', 'show', 'default'])).toContain('via 10.233.1.1 dev eth0');
    for (const netns of [A, B, C, D]) sandboxServers.push(await startServer(netns, [SERVICE_PORT]));
  });

  test('two sandboxes on it reach each other, and the outside through masquerade', async () => {
    expect(await connect(A, 'tcp', '10.233.1.3', SERVICE_PORT)).toBe('reply 10.233.1.2');
    expect(await connect(B, 'tcp', OUTSIDE.ip, OUTSIDE_PORT)).toBe(`reply ${HOST.ip}`);
  });

  test("a published port answers from another host, and from sandboxes of this host asking the host's address (hairpin)", async () => {
    expect(await connect(OUTSIDE.ns, 'tcp', HOST.ip, PUBLISHED)).toBe(`reply ${OUTSIDE.ip}`);
    // Masqueraded to the bridge's gateway where the host routes the flow; where br_netfilter bridges it, the asker shows.
    expect(await connect(B, 'tcp', HOST.ip, PUBLISHED)).toMatch(/^reply 10\.233\.1\.(1|3)$/);
    // The overlay sandbox comes from trellis_gw, masqueraded onto the bridge.
    expect(await connect(C, 'tcp', HOST.ip, PUBLISHED)).toBe('reply 10.233.1.1');
  });

  test('a bridge sandbox cannot reach the overlay sandbox of the same host, nor it the bridge sandbox', async () => {
    const gw0 = reconciler.egressAddresses().get(C);
    expect(gw0).toBeDefined();
    expect(await connect(A, 'tcp', OVERLAY_ADDRESS, SERVICE_PORT)).toEqual(blocked);
    expect(await connect(A, 'tcp', gw0 ?? '', SERVICE_PORT)).toEqual(blocked);
    expect(await connect(C, 'tcp', '10.233.1.2', SERVICE_PORT)).toEqual(blocked);
  });

  test('an internal one forwards nothing out nor in, published ports included; its sandbox reaches only its gateway', async () => {
    expect(await run(['ip', '-n', D, 'route', 'show', 'default'])).toBe('');
    // A way out by hand: only the firewall stops it.
    await run(['ip', '-n', D, 'route', 'add', 'default', 'via', '10.233.3.1']);
    expect(await connect(D, 'tcp', OUTSIDE.ip, OUTSIDE_PORT)).toEqual(blocked);
    expect(await connect(D, 'tcp', '10.233.1.2', SERVICE_PORT)).toEqual(blocked);
    expect(await connect(D, 'tcp', '10.233.3.1', PUBLISHED)).toEqual(blocked);
    expect(await connect(A, 'tcp', '10.233.3.2', SERVICE_PORT)).toEqual(blocked);
    expect(await run(['ip', 'netns', 'exec', D, 'ping', '-c', '1', '-W', '2', '10.233.3.1'])).toContain('1 received');
  });

  test('icc=false: its sandboxes no longer reach each other, still the outside and the published port', async () => {
    await convergesInOnePass(viewOf(true));
    expect(await isolatedPort(`trve-epa${tag}`.slice(0, 15))).toBe(true);
    expect(await connect(A, 'tcp', '10.233.1.3', SERVICE_PORT)).toEqual(blocked);
    expect(await connect(A, 'tcp', OUTSIDE.ip, OUTSIDE_PORT)).toBe(`reply ${HOST.ip}`);
    expect(await connect(OUTSIDE.ns, 'tcp', HOST.ip, PUBLISHED)).toBe(`reply ${OUTSIDE.ip}`);
  });

  test.each([
    ['the bridge deleted', () => run(['ip', '-n', HOST.ns, 'link', 'del', 'dev', BRIDGE])],
    ['a gateway address removed', () => run(['ip', '-n', HOST.ns, 'addr', 'del', '10.233.2.1/24', 'dev', BRIDGE])],
    ['port isolation turned off', () => run(['ip', '-n', HOST.ns, 'link', 'set', 'dev', `trve-epb${tag}`.slice(0, 15), 'type', 'bridge_slave', 'isolated', 'off'])],
    ['the firewall table edited', () => inHost('nft', 'flush', 'chain', 'ip', FIREWALL_TABLE, 'forward')],
  ])('repairs %s in one pass', async (_what, sabotage) => {
    await sabotage();
    await convergesInOnePass(viewOf(true));
    expect(await connect(A, 'tcp', '10.233.1.3', SERVICE_PORT)).toEqual(blocked);
    expect(await connect(B, 'tcp', OUTSIDE.ip, OUTSIDE_PORT)).toBe(`reply ${HOST.ip}`);
    expect(await connect(A, 'tcp', OVERLAY_ADDRESS, SERVICE_PORT)).toEqual(blocked);
  });

  test('removal leaves no bridge, veth, firewall table or sandbox behind', async () => {
    for (const server of sandboxServers) server.kill();
    const empty: NodeView = { ...viewOf(true), networks: [], sandboxes: [], endpoints: [], overlaySubnets: [] };
    expect((await reconciler.reconcile(empty)).writes).toBeGreaterThan(0);
    // The veths go with the sandboxes' namespaces, which the kernel tears down in the background.
    expect(await settled(ourHostLinks, (links) => links.length === 0)).toEqual([]);
    expect((await reconciler.reconcile(empty)).actions).toEqual([]);
    expect(await inHost('nft', 'list', 'tables')).not.toContain(`ip ${FIREWALL_TABLE}`);
    expect((await netnsNames()).filter((name) => [A, B, C, D].includes(name))).toEqual([]);
  });
});
