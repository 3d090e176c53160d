/**
 * The reconciler against the real kernel: two "hosts" (network namespaces) on an "underlay"
 * bridge, one sandbox on each, and real pings between the sandboxes over VXLAN. Needs root.
 */
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, startServer } from '../firewall/kernel-test-traffic';
import { IprouteKernel, networkNetnsName, processRunner } from '../kernel';
import { createUnderlay, deleteNetnsIfPresent, netnsNames, pings, run } from './kernel-test-support';
import { Reconciler } from './reconciler';
import { PLAIN_ENDPOINT } from './test-fixtures';

const tag = `trkt${process.pid}`;
const underlayNs = `${tag}-u`;
const host1 = { ns: `${tag}-h1`, ip: '198.18.0.1', nodeId: 'node-1', owner: `${tag}-h1` };
const host2 = { ns: `${tag}-h2`, ip: '198.18.0.2', nodeId: 'node-2', owner: `${tag}-h2` };
const sandboxA = { id: 'sandbox-a', name: 'a', netnsName: `trsb-${tag}-a`, networkMode: '', sharesNetns: false, netnsPath: '' };
const sandboxB = { id: 'sandbox-b', name: 'b', netnsName: `trsb-${tag}-b`, networkMode: '', sharesNetns: false, netnsPath: '' };
const sandboxC = { id: 'sandbox-c', name: 'c', netnsName: `trsb-${tag}-c`, networkMode: '', sharesNetns: false, netnsPath: '' };
const sandboxD = { id: 'sandbox-d', name: 'd', netnsName: `trsb-${tag}-d`, networkMode: '', sharesNetns: false, netnsPath: '' };
const network = { id: 'net-1', name: 'front', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 4242, subnet: '10.231.7.0/24', gateway: '10.231.7.1', mtu: 0, internal: false };
/** Same subnet as `network`, another VNI: the two must carry traffic side by side, never meeting. */
const twin = { ...network, id: 'net-2', name: 'twin', vni: 4243 };
const endpointA = {
  id: 'epaaaaaaaaaaaa', networkId: network.id, sandboxId: sandboxA.id, nodeId: host1.nodeId, vtep: host1.ip,
  ip: '10.231.7.2', prefixLength: 24, mac: '02:42:0a:e7:07:02', interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [],
  publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }],
  ...PLAIN_ENDPOINT,
};
const endpointB = {
  id: 'epbbbbbbbbbbbb', networkId: network.id, sandboxId: sandboxB.id, nodeId: host2.nodeId, vtep: host2.ip,
  ip: '10.231.7.3', prefixLength: 24, mac: '02:42:0a:e7:07:03', interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [],
  publishedPorts: [], ...PLAIN_ENDPOINT,
};
// On the twin network, with the same addresses as A and B but other MACs.
const endpointC = { ...endpointA, id: 'epcccccccccccc', networkId: twin.id, sandboxId: sandboxC.id, mac: '02:42:0a:e7:07:12', publishedPorts: [] };
const endpointD = { ...endpointB, id: 'epdddddddddddd', networkId: twin.id, sandboxId: sandboxD.id, mac: '02:42:0a:e7:07:13' };
/** An overlay of the cluster hosted on neither host; the underlay below routes it (host 2 holds an address in it). */
const elsewhereSubnet = '10.231.8.0/24';
const elsewhereAddress = '10.231.8.1';
const vxlan = `trvx-${network.vni}`;
const bridge = `trbr-${network.vni}`;
const vethA = 'trve-epaaaaaaaa';
const network1 = networkNetnsName(host1.owner, network.vni);

function viewOf(host: typeof host1, parts: Partial<NodeView>): NodeView {
  return {
    revision: 1, nodeId: host.nodeId, nodeName: host.ns, advertiseAddr: host.ip,
    networks: [], sandboxes: [], endpoints: [], members: [], overlaySubnets: [network.subnet, elsewhereSubnet], services: [], ...parts,
  };
}
const fullView1 = viewOf(host1, { networks: [network], sandboxes: [sandboxA], endpoints: [endpointA, endpointB] });
const fullView2 = viewOf(host2, { networks: [network], sandboxes: [sandboxB], endpoints: [endpointA, endpointB] });
const twinEndpoints = [endpointA, endpointB, endpointC, endpointD];
const twinView1 = viewOf(host1, { networks: [network, twin], sandboxes: [sandboxA, sandboxC], endpoints: twinEndpoints });
const twinView2 = viewOf(host2, { networks: [network, twin], sandboxes: [sandboxB, sandboxD], endpoints: twinEndpoints });

function reconcilerFor(host: typeof host1): Reconciler {
  return new Reconciler({ underlayDevice: 'uplink', owner: host.owner }, new IprouteKernel(processRunner, { hostNetns: host.ns }));
}
const reconciler1 = reconcilerFor(host1);
const reconciler2 = reconcilerFor(host2);

async function hostLinkNames(host: typeof host1): Promise<string[]> {
  const links = JSON.parse(await run(['ip', '-n', host.ns, '-j', 'link', 'show'])) as { ifname: string }[];
  return links.map((link) => link.ifname);
}

async function sandboxArpRetransMs(netns: string, device: string): Promise<number | undefined> {
  const tables = JSON.parse(await run(['ip', '-n', netns, '-j', 'ntable', 'show', 'dev', device])) as {
    family: string; name: string; retrans: number;
  }[];
  return tables.find((table) => table.family === 'inet' && table.name === 'arp_cache')?.retrans;
}

async function converge(): Promise<void> {
  await reconciler1.reconcile(fullView1);
  await reconciler2.reconcile(fullView2);
}

beforeAll(() => createUnderlay(underlayNs, [host1, host2]));

afterAll(async () => {
  for (const reconciler of [reconciler1, reconciler2]) await reconciler.removeAll().catch(() => undefined);
  for (const name of [sandboxA, sandboxB, sandboxC, sandboxD].map((s) => s.netnsName).concat(host1.ns, host2.ns, underlayNs)) {
    await deleteNetnsIfPresent(name).catch(() => undefined);
  }
});

describe('reconciler on a real kernel', () => {
  test('programs both hosts so that sandboxes ping each other over VXLAN', async () => {
    const first = await reconciler1.reconcile(fullView1);
    await reconciler2.reconcile(fullView2);

    expect(first.writes).toBeGreaterThan(0);
    expect(first.skipped).toEqual([]);
    expect(await pings(sandboxA.netnsName, endpointB.ip)).toBe(true);
    expect(await pings(sandboxB.netnsName, endpointA.ip)).toBe(true);
  });

  test("the network's bridge and VXLAN device live in its own namespace, the VXLAN socket on the underlay", async () => {
    expect(await netnsNames()).toContain(network1);
    const names = await hostLinkNames(host1);
    expect(names.filter((name) => /^tr(vx|br|ve)-/.test(name))).toEqual([]);
    const inNetwork = JSON.parse(await run(['ip', '-n', network1, '-j', 'link', 'show'])) as { ifname: string }[];
    expect(inNetwork.map((link) => link.ifname).sort()).toEqual(['lo', bridge, vethA, vxlan].sort());
    expect(await run(['ip', 'netns', 'exec', host1.ns, 'ss', '-Huan', 'sport', '= :4789'])).toContain(':4789');
  });

  test('a second pass, and a freshly started reconciler, write nothing', async () => {
    expect(await reconciler1.reconcile(fullView1)).toEqual({ writes: 0, actions: [], applied: [], skipped: [], unprogrammedEndpointIds: [], pass: 'full' });
    expect((await reconciler2.reconcile(fullView2)).writes).toBe(0);
    expect((await reconcilerFor(host1).reconcile(fullView1)).writes).toBe(0);
  });

  test('sandboxes get the overlay MTU, their MAC and address, and a default route through the gateway bridge', async () => {
    const [link] = JSON.parse(await run(['ip', '-n', sandboxA.netnsName, '-j', 'addr', 'show', 'dev', 'eth0'])) as {
      mtu: number; address: string; addr_info: { family: string; local: string }[];
    }[];
    expect(link?.mtu).toBe(1450);
    expect(link?.address).toBe(endpointA.mac);
    expect(link?.addr_info.filter((a) => a.family === 'inet').map((a) => a.local)).toEqual([endpointA.ip]);
    expect(await run(['ip', '-n', sandboxA.netnsName, 'route', 'show', 'default'])).toContain('via 172.29.0.1 dev gw0');
    expect(await run(['ip', '-n', host1.ns, 'addr', 'show', 'dev', 'trellis_gw'])).toContain('172.29.0.1/16');
  });

  test('a sandbox reaches the underlay through the gateway bridge, masqueraded as its host', async () => {
    const server = await startServer(host2.ns, [7070]);
    try {
      expect(await connect(sandboxA.netnsName, 'tcp', host2.ip, 7070)).toBe(`reply ${host1.ip}`);
    } finally {
      server.kill();
    }
  });

  test('a published port reaches the sandbox from another host and from the host itself', async () => {
    let server: ChildProcess | undefined;
    try {
      server = await startServer(sandboxA.netnsName, [80]);
      expect(await connect(host2.ns, 'tcp', host1.ip, 8080)).toBe(`reply ${host2.ip}`);
      expect(await connect(host1.ns, 'tcp', host1.ip, 8080)).toMatch(/^reply /);
    } finally {
      server?.kill();
    }
  });

  test("no sandbox reaches another overlay's subnet through the gateway bridge, even where the underlay routes it", async () => {
    await run(['ip', '-n', host2.ns, 'addr', 'add', `${elsewhereAddress}/24`, 'dev', 'uplink']);
    await run(['ip', '-n', host1.ns, 'route', 'add', elsewhereSubnet, 'via', host2.ip]);
    try {
      expect(await pings(host1.ns, elsewhereAddress)).toBe(true);
      expect(await pings(sandboxA.netnsName, host2.ip)).toBe(true);
      expect(await pings(sandboxA.netnsName, elsewhereAddress)).toBe(false);
    } finally {
      await run(['ip', '-n', host1.ns, 'route', 'del', elsewhereSubnet]);
      await run(['ip', '-n', host2.ns, 'addr', 'del', `${elsewhereAddress}/24`, 'dev', 'uplink']);
    }
  });

  test('sandbox interfaces retry ARP every 20 ms; drift is repaired with exactly one write', async () => {
    expect(await sandboxArpRetransMs(sandboxA.netnsName, 'eth0')).toBe(20);
    expect(await sandboxArpRetransMs(sandboxB.netnsName, 'eth0')).toBe(20);
    await run(['ip', '-n', sandboxA.netnsName, 'ntable', 'change', 'name', 'arp_cache', 'dev', 'eth0', 'retrans', '1000']);

    const repair = await reconciler1.reconcile(fullView1);

    expect(repair.actions).toEqual([`ip -n ${sandboxA.netnsName} ntable change name arp_cache dev eth0 retrans 20`]);
    expect(await sandboxArpRetransMs(sandboxA.netnsName, 'eth0')).toBe(20);
    expect((await reconciler1.reconcile(fullView1)).writes).toBe(0);
  });

  test.each([
    ['an FDB entry', ['bridge', '-n', network1, 'fdb', 'del', endpointB.mac, 'dev', vxlan, 'dst', host2.ip, 'self']],
    ['a neighbour entry', ['ip', '-n', network1, 'neigh', 'del', endpointB.ip, 'dev', vxlan]],
    ['the host side of a veth', ['ip', '-n', network1, 'link', 'del', 'dev', vethA]],
    ['the sandbox side of a veth', ['ip', '-n', sandboxA.netnsName, 'link', 'del', 'dev', 'eth0']],
    ['the VXLAN device', ['ip', '-n', network1, 'link', 'del', 'dev', vxlan]],
    ['the bridge', ['ip', '-n', network1, 'link', 'del', 'dev', bridge]],
    ["the network's namespace", ['ip', 'netns', 'del', network1]],
    ['the sandbox default route', ['ip', '-n', sandboxA.netnsName, 'route', 'del', 'default']],
    ['the sandbox address', ['ip', '-n', sandboxA.netnsName, 'addr', 'flush', 'dev', 'eth0']],
    ['the sandbox MTU', ['ip', '-n', sandboxA.netnsName, 'link', 'set', 'dev', 'eth0', 'mtu', '1400']],
    ['the VXLAN port membership', ['ip', '-n', network1, 'link', 'set', 'dev', vxlan, 'nomaster']],
    ['the VXLAN up state', ['ip', '-n', network1, 'link', 'set', 'dev', vxlan, 'down']],
    ['the egress interface', ['ip', '-n', sandboxA.netnsName, 'link', 'del', 'dev', 'gw0']],
    ['the gateway bridge', ['ip', '-n', host1.ns, 'link', 'del', 'dev', 'trellis_gw']],
    ['the firewall table', ['ip', 'netns', 'exec', host1.ns, 'nft', 'delete', 'table', 'ip', 'trellis']],
    ['IP forwarding', ['ip', 'netns', 'exec', host1.ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']],
  ])('repairs %s removed or changed behind its back', async (_what, sabotage) => {
    await run(sabotage);

    const repair = await reconciler1.reconcile(fullView1);

    expect(repair.writes).toBeGreaterThan(0);
    expect(await pings(sandboxA.netnsName, endpointB.ip)).toBe(true);
    expect(await pings(sandboxA.netnsName, host2.ip)).toBe(true);
    expect((await reconciler1.reconcile(fullView1)).writes).toBe(0);
  });

  // br_netfilter (built in or loaded) makes the switches exist in every namespace; without it there is nothing to turn off.
  const withBridgeNetfilter = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables') ? test : test.skip;
  withBridgeNetfilter("bridged packets skip netfilter in the network's namespace; a switch turned back on is turned off again", async () => {
    const switches = () => run(['ip', 'netns', 'exec', network1, 'cat', ...['iptables', 'ip6tables', 'arptables'].map((t) => `/proc/sys/net/bridge/bridge-nf-call-${t}`)]);
    expect(await switches()).toBe('0\n0\n0\n');
    await run(['ip', 'netns', 'exec', network1, 'sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-ip6tables=1']);

    const repair = await reconciler1.reconcile(fullView1);

    expect(repair.writes).toBe(1);
    expect(await switches()).toBe('0\n0\n0\n');
    // The host's own switches are not ours.
    expect(await run(['ip', 'netns', 'exec', host1.ns, 'cat', '/proc/sys/net/bridge/bridge-nf-call-iptables'])).toBe('1\n');
  });

  test('removes stray FDB and neighbour entries on its VXLAN device', async () => {
    await run(['bridge', '-n', network1, 'fdb', 'append', '00:00:00:00:00:00', 'dev', vxlan, 'dst', '198.18.0.77', 'self', 'permanent']);
    await run(['bridge', '-n', network1, 'fdb', 'add', '02:42:0a:e7:07:99', 'dev', vxlan, 'dst', '198.18.0.99', 'self', 'permanent']);
    await run(['ip', '-n', network1, 'neigh', 'add', '10.231.7.99', 'lladdr', '02:42:0a:e7:07:99', 'dev', vxlan, 'nud', 'permanent']);

    const result = await reconciler1.reconcile(fullView1);

    expect(result.writes).toBe(3);
    const fdb = await run(['bridge', '-n', network1, 'fdb', 'show', 'dev', vxlan]);
    expect(fdb).not.toContain('198.18.0.77');
    expect(fdb).not.toContain('02:42:0a:e7:07:99');
    expect(await run(['ip', '-n', network1, 'neigh', 'show', 'dev', vxlan])).not.toContain('10.231.7.99');
    expect(fdb).toMatch(new RegExp(`${endpointB.mac} dst ${host2.ip} .*self permanent`));
  });

  test('removes links and network namespaces with its prefixes left by an earlier run, and nothing else', async () => {
    const leftoverNetwork = networkNetnsName(host1.owner, 999);
    await run(['ip', '-n', host1.ns, 'link', 'add', 'trbr-999', 'type', 'bridge']);
    await run(['ip', '-n', host1.ns, 'link', 'add', 'trve-leftover', 'type', 'veth', 'peer', 'name', 'bystander']);
    await run(['ip', 'netns', 'add', leftoverNetwork]);

    await reconciler1.reconcile(fullView1);

    const names = await hostLinkNames(host1);
    expect(names).not.toContain('trbr-999');
    expect(names).not.toContain('trve-leftover');
    expect(names).not.toContain('bystander'); // went with its peer
    expect(await netnsNames()).not.toContain(leftoverNetwork);
    await run(['ip', '-n', host1.ns, 'link', 'add', 'bystander', 'type', 'bridge']);
    await reconciler1.reconcile(fullView1);
    expect(await hostLinkNames(host1)).toContain('bystander');
    await run(['ip', '-n', host1.ns, 'link', 'del', 'dev', 'bystander']);
  });

  test('two networks with the same subnet carry traffic side by side; disconnecting one leaves the other untouched', async () => {
    await reconciler1.reconcile(twinView1);
    await reconciler2.reconcile(twinView2);

    expect(await pings(sandboxA.netnsName, endpointB.ip)).toBe(true);
    expect(await pings(sandboxC.netnsName, endpointD.ip)).toBe(true);
    const answeredBy = async (netns: string) => (await run(['ip', '-n', netns, 'neigh', 'show', endpointB.ip])).split(' ')[4];
    expect(await answeredBy(sandboxA.netnsName)).toBe(endpointB.mac);
    expect(await answeredBy(sandboxC.netnsName)).toBe(endpointD.mac);

    // Nor do the sandboxes of one host meet through the gateway bridge, whatever their networks.
    const gatewayAddressOfC = (await run(['ip', '-n', sandboxC.netnsName, '-4', '-o', 'addr', 'show', 'dev', 'gw0'])).split(/\s+/)[3]?.split('/')[0] ?? '';
    expect(gatewayAddressOfC).toMatch(/^172\.29\./);
    expect(await pings(host1.ns, gatewayAddressOfC)).toBe(true);
    expect(await pings(sandboxA.netnsName, gatewayAddressOfC)).toBe(false);

    const withoutC = viewOf(host1, { networks: [network, twin], sandboxes: [sandboxA, sandboxC], endpoints: [endpointA, endpointB, endpointD] });
    const disconnect = await reconciler1.reconcile(withoutC);
    // C loses its interface, and with its last endpoint its egress (and its published nothing): A is not touched.
    expect(disconnect.actions.filter((action) => !action.includes(sandboxC.netnsName))).toEqual([
      'ip link del dev trgw-sandbox-c',
      `ip -n ${networkNetnsName(host1.owner, twin.vni)} link del dev trve-epcccccccc`,
    ]);
    expect(await run(['ip', '-n', sandboxC.netnsName, 'link', 'show'])).not.toContain('eth0');
    expect(await pings(sandboxA.netnsName, endpointB.ip)).toBe(true);
    await reconciler2.reconcile(fullView2);
  });

  test('a network that is no longer wanted leaves nothing behind; the sandbox stays while wanted', async () => {
    const withoutNetwork = viewOf(host1, { sandboxes: [sandboxA] });

    await reconciler1.reconcile(withoutNetwork);

    expect(await netnsNames()).not.toContain(network1);
    expect((await hostLinkNames(host1)).sort()).toEqual(['lo', 'uplink']);
    expect(await netnsNames()).toContain(sandboxA.netnsName);
    const sandboxLinks = await run(['ip', '-n', sandboxA.netnsName, 'link', 'show']);
    expect(sandboxLinks).not.toContain('eth0');
    expect(sandboxLinks).not.toContain('gw0');
    expect((await reconciler1.reconcile(withoutNetwork)).writes).toBe(0);
    // host 2 keeps its side and its sandbox: the namespaces are machine-wide, the tags are not
    expect(await netnsNames()).toContain(sandboxB.netnsName);
  });

  test('a sandbox that is no longer wanted is deleted; coming back restores connectivity', async () => {
    await reconciler1.reconcile(viewOf(host1, {}));

    expect(await netnsNames()).not.toContain(sandboxA.netnsName);
    expect(await netnsNames()).not.toContain(sandboxC.netnsName);
    expect(await netnsNames()).toContain(sandboxB.netnsName);

    await reconciler1.reconcile(fullView1);
    expect(await pings(sandboxA.netnsName, endpointB.ip)).toBe(true);
  });

  test('removeAll deletes everything it owns and nothing it does not', async () => {
    await converge();

    await reconciler1.removeAll();

    expect(await netnsNames()).not.toContain(sandboxA.netnsName);
    expect(await netnsNames()).not.toContain(network1);
    expect(await netnsNames()).toContain(sandboxB.netnsName);
    expect((await hostLinkNames(host1)).sort()).toEqual(['lo', 'uplink']);
    expect(await run(['ip', 'netns', 'exec', host1.ns, 'nft', 'list', 'tables'])).not.toContain('trellis');
  });
});
