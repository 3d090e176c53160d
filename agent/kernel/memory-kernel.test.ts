import { DesiredFirewall, deleteScript, renderTable, replaceScript } from '../firewall';
import { HOST, KernelAction, ROOT, attachAction, bridgeAction, inNetns, ipAction } from './actions';
import { KernelApplyError } from './kernel';
import { UnsupportedAction } from './memory-commands';
import { MemoryKernel } from './memory-kernel';
import { NO_ADOPTED_NETNS, ObserveQuery, ObservedKernel, ObservedLink } from './model';

const PREFIX = 'trnw-test-';
const QUERY: ObserveQuery = { networkNetnsPrefix: PREFIX, firewallTable: 'trellis', adopted: NO_ADOPTED_NETNS };
const NETWORK = `${PREFIX}100`;
const SANDBOX = 'trsb-one';

function kernel(): MemoryKernel {
  const memory = new MemoryKernel();
  memory.addUnderlay('uplink', 1500, '198.18.0.1/24');
  return memory;
}

/** A network namespace with a bridge and a VXLAN device born into it, and a sandbox on a veth from the bridge. */
const NODE: KernelAction[] = [
  ipAction(ROOT, 'netns', 'add', NETWORK),
  ipAction(ROOT, 'netns', 'add', SANDBOX),
  ipAction(HOST, 'link', 'add', 'name', 'trvx-100', 'netns', NETWORK, 'mtu', '1450', 'type', 'vxlan', 'id', '100', 'dstport', '4789',
    'local', '198.18.0.1', 'dev', 'uplink', 'nolearning', 'proxy'),
  ipAction(inNetns(NETWORK), 'link', 'add', 'name', 'trbr-100', 'mtu', '1450', 'up', 'type', 'bridge'),
  ipAction(inNetns(NETWORK), 'link', 'set', 'dev', 'trvx-100', 'master', 'trbr-100', 'up'),
  ipAction(inNetns(NETWORK), 'link', 'add', 'name', 'trve-a', 'mtu', '1450', 'master', 'trbr-100', 'up', 'type', 'veth',
    'peer', 'name', 'eth0', 'netns', SANDBOX, 'address', '02:42:00:00:00:02', 'mtu', '1450'),
  ipAction(inNetns(SANDBOX), 'link', 'set', 'dev', 'eth0', 'alias', 'trve-a', 'up'),
  ipAction(inNetns(SANDBOX), 'addr', 'add', '10.231.0.2/24', 'dev', 'eth0'),
  ipAction(inNetns(SANDBOX), 'route', 'replace', 'default', 'via', '10.231.0.1', 'dev', 'eth0'),
  ipAction(inNetns(NETWORK), 'neigh', 'replace', '10.231.0.3', 'lladdr', '02:42:00:00:00:03', 'dev', 'trvx-100', 'nud', 'permanent'),
  bridgeAction(inNetns(NETWORK), 'fdb', 'replace', '02:42:00:00:00:03', 'dev', 'trvx-100', 'dst', '198.18.0.2', 'self', 'permanent'),
];

async function built(): Promise<MemoryKernel> {
  const memory = kernel();
  await memory.apply(NODE);
  return memory;
}

function network(observed: ObservedKernel, netns = NETWORK) {
  const found = observed.networks.find((candidate) => candidate.netns === netns);
  if (found === undefined) throw new Error(`no network ${netns}`);
  return found;
}

function sandboxLinks(observed: ObservedKernel, netns = SANDBOX): string[] {
  return observed.sandboxes.find((candidate) => candidate.netns === netns)?.links.map((link) => link.name) ?? [];
}

async function failures(memory: MemoryKernel, actions: KernelAction[]): Promise<readonly string[]> {
  try {
    await memory.apply(actions);
    return [];
  } catch (error) {
    if (error instanceof KernelApplyError) return error.failures;
    throw error;
  }
}

describe('MemoryKernel reads back what it was told, as IprouteKernel would', () => {
  test('a VXLAN device lives where it was born, its underlay printed as whichever link there has the host underlay\'s index', async () => {
    const observed = await (await built()).observe(QUERY);
    const vxlan = network(observed).links.find((link) => link.name === 'trvx-100');
    const underlay = observed.hostLinks.find((link) => link.name === 'uplink');
    const namesake = network(observed).links.find((link) => link.ifindex === underlay?.ifindex);

    expect(observed.hostLinks.map((link) => link.name)).toEqual(['lo', 'uplink-peer', 'uplink']);
    expect(vxlan).toMatchObject({ kind: 'vxlan', master: 'trbr-100', up: true, mtu: 1450, peerIfindex: vxlan?.ifindex });
    expect(vxlan?.vxlan).toEqual({ vni: 100, local: '198.18.0.1', port: 4789, underlayDevice: namesake?.name, learning: false, proxy: true });
    expect(namesake?.name).toBe('trbr-100');
  });

  test('a veth pair across namespaces: each end names the other\'s index; the sandbox end its address, alias, ARP timing and route', async () => {
    const observed = await (await built()).observe(QUERY);
    const hostEnd = network(observed).links.find((link) => link.name === 'trve-a');
    const sandbox = observed.sandboxes.find((candidate) => candidate.netns === SANDBOX);
    const eth0 = sandbox?.links.find((link) => link.name === 'eth0');

    expect(hostEnd?.peerIfindex).toBe(eth0?.ifindex);
    expect(eth0?.peerIfindex).toBe(hostEnd?.ifindex);
    expect(eth0).toMatchObject({ mac: '02:42:00:00:00:02', alias: 'trve-a', addresses: ['10.231.0.2/24'], arpRetransMs: 1000, master: undefined });
    expect(hostEnd).toMatchObject({ master: 'trbr-100', isolated: false, addresses: [], arpRetransMs: undefined });
    expect(sandbox?.defaultRoute).toEqual({ gateway: '10.231.0.1', device: 'eth0' });
  });

  test('only our prefixes are read, foreign namespaces only when asked for; a dangling name is broken', async () => {
    const memory = await built();
    memory.addForeignNamespace('runtime-1');
    memory.addForeignNamespace('runtime-2');
    await memory.apply([ipAction(ROOT, 'netns', 'add', 'trnw-other-5')]);
    memory.drift.breakNamespace(SANDBOX);

    const observed = await memory.observe({ ...QUERY, adopted: { foreign: ['runtime-2', 'gone'], attached: [], pids: [] } });

    expect(observed.networks.map((candidate) => candidate.netns)).toEqual([NETWORK]);
    expect(observed.sandboxes.map((candidate) => candidate.netns)).toEqual(['runtime-2']);
    expect(observed.brokenSandboxes).toEqual([SANDBOX]);
    expect(Object.keys(observed.netnsIds).sort()).toEqual(['/proc/self/ns/net', '/run/netns/runtime-2']);
    expect(observed.agentNetnsIds).toEqual([observed.netnsIds['/proc/self/ns/net']]);
  });

  test('a scoped read reads only the namespaces and host links asked for, among those that exist, broken ones included', async () => {
    const memory = await built();
    await memory.apply([ipAction(ROOT, 'netns', 'add', 'trsb-two'), ipAction(ROOT, 'netns', 'add', `${PREFIX}200`)]);
    memory.drift.breakNamespace('trsb-two');

    const observed = await memory.observe({ ...QUERY, only: { sandboxes: new Set(['trsb-two', 'trsb-none']), networks: new Set([`${PREFIX}200`]), hostLinks: new Set(['uplink', 'nothere']) } });

    expect(observed.sandboxes).toEqual([]);
    expect(observed.brokenSandboxes).toEqual(['trsb-two']);
    expect(observed.networks.map((candidate) => candidate.netns)).toEqual([`${PREFIX}200`]);
    expect(observed.hostLinks.map((link) => link.name)).toEqual(['uplink']);
  });

  test('an attached name and its process are one namespace', async () => {
    const memory = kernel();
    const pid = memory.startProcess();
    await memory.apply([ipAction(ROOT, 'netns', 'attach', 'trsb-p', `${pid}`)]);

    const observed = await memory.observe({ ...QUERY, adopted: { foreign: [], attached: ['trsb-p'], pids: [pid] } });

    expect(observed.netnsIds['/run/netns/trsb-p']).toBe(observed.netnsIds[`/proc/${pid}/ns/net`]);
    expect(observed.netnsIds['/run/netns/trsb-p']).not.toBe(observed.netnsIds['/proc/self/ns/net']);
  });

  test("the host's namespace named from inside is the host's, and deleting the name leaves it", async () => {
    const memory = kernel();
    await memory.apply([attachAction(HOST, 'trsb-host')]);

    const observed = await memory.observe(QUERY);
    const identities = (links: ObservedLink[]) => links.map(({ name, ifindex, mac }) => ({ name, ifindex, mac }));
    expect(observed.sandboxes.map(({ netns, links }) => [netns, identities(links)])).toEqual([['trsb-host', identities(observed.hostLinks)]]);
    await memory.apply([ipAction(ROOT, 'netns', 'del', 'trsb-host')]);
    expect(memory.namespaceNames()).toEqual([]);
    expect((await memory.observe(QUERY)).hostLinks).toEqual(observed.hostLinks);
  });

  test('the firewall table reads back as renderTable() after its replace script, and is gone after its delete script', async () => {
    const memory = kernel();
    const firewall: DesiredFirewall = { table: 'trellis', gatewayBridge: 'trellis_gw', gatewaySubnet: '172.29.0.0/16', isolatedSubnets: ['10.231.0.0/24'], published: [], localBridges: [] };
    await memory.apply([{ scope: HOST, tool: 'nft', args: [replaceScript(firewall)] }]);
    expect((await memory.observe(QUERY)).firewall).toBe(renderTable(firewall));
    await memory.apply([{ scope: HOST, tool: 'nft', args: [deleteScript('trellis')] }, { scope: HOST, tool: 'nft', args: [deleteScript('trellis')] }]);
    expect((await memory.observe(QUERY)).firewall).toBeUndefined();
  });

  test('sysctls: IP forwarding in the host, bridge netfilter per namespace (on in a new one), absent without br_netfilter', async () => {
    const memory = await built();
    expect(network(await memory.observe(QUERY)).bridgeNetfilter).toBe(true);
    await memory.apply([
      { scope: inNetns(NETWORK), tool: 'sysctl', args: ['net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0'] },
      { scope: HOST, tool: 'sysctl', args: ['net.ipv4.ip_forward=1'] },
    ]);
    const observed = await memory.observe(QUERY);
    expect(network(observed).bridgeNetfilter).toBe(false);
    expect(observed.ipForwarding).toBe(true);

    const without = new MemoryKernel({ brNetfilter: false });
    await without.apply([ipAction(ROOT, 'netns', 'add', NETWORK), { scope: inNetns(NETWORK), tool: 'sysctl', args: ['net.bridge.bridge-nf-call-iptables=0'] }]);
    expect(network(await without.observe(QUERY)).bridgeNetfilter).toBeUndefined();
  });
});

describe('MemoryKernel takes along what the kernel takes along', () => {
  test('deleting either end of a veth removes both', async () => {
    const memory = await built();
    await memory.apply([ipAction(inNetns(SANDBOX), 'link', 'del', 'dev', 'eth0')]);
    const observed = await memory.observe(QUERY);
    expect(network(observed).links.map((link) => link.name)).toEqual(['lo', 'trvx-100', 'trbr-100']);
    expect(sandboxLinks(observed)).toEqual(['lo']);
    expect(observed.sandboxes[0]?.defaultRoute).toBeUndefined();
  });

  test('deleting a created namespace removes everything in it and the host ends of its veths', async () => {
    const memory = await built();
    await memory.apply([ipAction(ROOT, 'netns', 'del', SANDBOX)]);
    const observed = await memory.observe(QUERY);
    expect(observed.sandboxes).toEqual([]);
    expect(network(observed).links.map((link) => link.name)).toEqual(['lo', 'trvx-100', 'trbr-100']);
  });

  test('deleting a network namespace takes its VXLAN device, entries, and the sandbox ends of its veths', async () => {
    const memory = await built();
    await memory.apply([ipAction(ROOT, 'netns', 'del', NETWORK)]);
    const observed = await memory.observe(QUERY);
    expect(observed.networks).toEqual([]);
    expect(sandboxLinks(observed)).toEqual(['lo']);
    expect(memory.allLinks().map(({ link }) => link.name).filter((name) => name.startsWith('tr'))).toEqual([]);
  });

  test('deleting an attached name leaves the process\'s namespace, and our veth in it, alive', async () => {
    const memory = await built();
    const pid = memory.startProcess();
    await memory.apply([
      ipAction(ROOT, 'netns', 'attach', 'trsb-p', `${pid}`),
      ipAction(inNetns(NETWORK), 'link', 'add', 'name', 'trve-p', 'mtu', '1450', 'master', 'trbr-100', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'trsb-p', 'mtu', '1450'),
      ipAction(ROOT, 'netns', 'del', 'trsb-p'),
    ]);
    expect(memory.namespaceNames()).not.toContain('trsb-p');
    expect(memory.processNamespace(pid)?.links.map((link) => link.name)).toEqual(['lo', 'eth0']);
    expect(network(await memory.observe(QUERY)).links.map((link) => link.name)).toContain('trve-p');

    memory.killProcess(pid);
    expect(network(await memory.observe(QUERY)).links.map((link) => link.name)).not.toContain('trve-p');
  });

  test('a deleted bridge frees its ports; a deleted VXLAN device takes its FDB and neighbour entries', async () => {
    const memory = await built();
    await memory.apply([ipAction(inNetns(NETWORK), 'link', 'del', 'dev', 'trbr-100')]);
    let observed = network(await memory.observe(QUERY));
    expect(observed.links.filter((link) => link.master !== undefined || link.isolated !== undefined)).toEqual([]);
    expect(observed.fdb).toHaveLength(1);
    await memory.apply([ipAction(inNetns(NETWORK), 'link', 'del', 'dev', 'trvx-100')]);
    observed = network(await memory.observe(QUERY));
    expect({ fdb: observed.fdb, neighbours: observed.neighbours }).toEqual({ fdb: [], neighbours: [] });
  });

  test('a device\'s last address, or the device going down, takes the routes through it', async () => {
    const memory = await built();
    memory.drift.detachAddress(SANDBOX, 'eth0', '10.231.0.2/24');
    expect((await memory.observe(QUERY)).sandboxes[0]?.defaultRoute).toBeUndefined();

    const other = await built();
    other.drift.setDown(SANDBOX, 'eth0');
    expect((await other.observe(QUERY)).sandboxes[0]?.defaultRoute).toBeUndefined();
  });

  test('a bridge given no MTU since creation follows its smallest port; 1500 without ports', async () => {
    const memory = await built();
    const bridgeMtu = async () => network(await memory.observe(QUERY)).links.find((link) => link.name === 'trbr-100')?.mtu;
    memory.drift.setMaster(NETWORK, 'trvx-100', undefined);
    memory.drift.setMtu(NETWORK, 'trve-a', 1300);
    expect(await bridgeMtu()).toBe(1300);
    memory.drift.deleteLink(NETWORK, 'trve-a');
    expect(await bridgeMtu()).toBe(1500);
    await memory.apply([ipAction(inNetns(NETWORK), 'link', 'set', 'dev', 'trbr-100', 'mtu', '1450'), ipAction(inNetns(NETWORK), 'link', 'set', 'dev', 'trvx-100', 'master', 'trbr-100')]);
    memory.drift.setMaster(NETWORK, 'trvx-100', undefined);
    expect(await bridgeMtu()).toBe(1450);
  });
});

describe('MemoryKernel fails as the kernel does', () => {
  test('adding what exists fails with the kernel\'s message; deleting what is gone is no failure', async () => {
    const memory = await built();
    expect(await failures(memory, [ipAction(inNetns(NETWORK), 'link', 'add', 'name', 'trbr-100', 'mtu', '1450', 'up', 'type', 'bridge')]))
      .toEqual([expect.stringContaining('RTNETLINK answers: File exists')]);
    expect(await failures(memory, [ipAction(ROOT, 'netns', 'add', SANDBOX)])).toEqual([expect.stringContaining('File exists')]);
    expect(await failures(memory, [
      ipAction(inNetns(NETWORK), 'link', 'del', 'dev', 'trve-gone'),
      ipAction(inNetns(SANDBOX), 'route', 'del', 'default'),
      ipAction(inNetns(SANDBOX), 'route', 'del', 'default'),
      bridgeAction(inNetns(NETWORK), 'fdb', 'del', '02:42:00:00:00:09', 'dev', 'trvx-100', 'self'),
      ipAction(ROOT, 'netns', 'del', 'trsb-gone'),
      ipAction(inNetns(SANDBOX), 'addr', 'del', '10.231.0.9/24', 'dev', 'eth0'),
    ])).toEqual([]);
  });

  test('every batch is tried; the failures are collected, a failed line\'s batch reported whole', async () => {
    const memory = kernel();
    const failed = await failures(memory, [
      ipAction(HOST, 'link', 'del', 'dev', 'trgw-gone'),
      ipAction(HOST, 'route', 'replace', 'default', 'via', '10.9.9.9', 'dev', 'uplink'),
      ipAction(ROOT, 'netns', 'add', 'trsb-made'),
      ipAction(inNetns('trsb-missing'), 'link', 'set', 'dev', 'lo', 'up'),
    ]);
    expect(failed).toEqual([
      expect.stringMatching(/Cannot find device "trgw-gone"\nCommand failed -:1\nError: Nexthop has invalid gateway\.\nCommand failed -:2$/),
      expect.stringContaining('nsenter: cannot open /run/netns/trsb-missing'),
    ]);
    expect(memory.namespaceNames()).toEqual(['trsb-made']);
  });

  test('where iproute2 gives up on a batch (a failed neigh, an argument it cannot resolve), the lines after it never run', async () => {
    const memory = await built();
    const failed = await failures(memory, [
      ipAction(inNetns(NETWORK), 'neigh', 'del', '10.231.0.9', 'dev', 'trvx-100'),
      ipAction(inNetns(NETWORK), 'link', 'set', 'dev', 'trve-a', 'down'),
    ]);
    expect(failed).toEqual([expect.stringMatching(/No such file or directory$/)]);
    expect(network(await memory.observe(QUERY)).links.find((link) => link.name === 'trve-a')?.up).toBe(true);
  });

  test('a write it does not model throws, rather than count as a kernel failure or pass unnoticed', async () => {
    const memory = kernel();
    const unknown = [ipAction(ROOT, 'netns', 'add', 'trsb-x'), ipAction(HOST, 'link', 'add', 'name', 'x', 'type', 'macvlan')];
    await expect(memory.apply(unknown)).rejects.toThrow(UnsupportedAction);
    await expect(memory.apply([ipAction(HOST, 'tunnel', 'add', 'x')])).rejects.toThrow(UnsupportedAction);
    await expect(memory.apply([{ scope: HOST, tool: 'sysctl', args: ['net.ipv4.conf.all.rp_filter=1'] }])).rejects.toThrow(UnsupportedAction);
    await expect(memory.apply([ipAction(HOST, 'link', 'set', 'dev', 'uplink', 'txqueuelen', '5')])).rejects.toThrow(UnsupportedAction);
  });
});
