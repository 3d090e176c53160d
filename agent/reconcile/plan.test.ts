import fc from 'fast-check';
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { ObservedNetwork, ObservedSandbox, networkNetnsName } from '../kernel';
import { OWNER_TAG_PREFIX, plan } from './plan';
import { BRIDGE_NETFILTER_OFF, EMPTY, NETWORK_NETNS, NOTHING_OBSERVED, OWNER, commands, link, programmed, view, want } from './plan-fixtures';
import { local, network, remote } from './test-fixtures';

const NS = NETWORK_NETNS;
const DELETE_FIREWALL = 'nft -f - << "table ip trellis\\ndelete table ip trellis\\n"';

function firstNetwork(observed: { networks: ObservedNetwork[] }): ObservedNetwork {
  const found = observed.networks[0];
  if (found === undefined) throw new Error('fixture');
  return found;
}

function linkIn(links: readonly { name: string }[] | undefined, name: string) {
  const found = links?.find((l) => l.name === name);
  if (found === undefined) throw new Error(`fixture: no ${name}`);
  return found as ReturnType<typeof link>;
}

describe('plan', () => {
  test('from nothing, builds everything in an order the kernel accepts', () => {
    const planned = commands(plan(want(), NOTHING_OBSERVED));
    expect(planned.slice(0, -1)).toEqual([
      'ip netns add trsb-web',
      `ip netns add ${NS}`,
      'ip link add name trellis_gw mtu 1500 up type bridge',
      'ip addr add 172.29.0.1/16 dev trellis_gw',
      `ip link add name trvx-100 netns ${NS} mtu 1450 type vxlan id 100 dstport 4789 local 198.18.0.1 dev uplink nolearning proxy`,
      'ip link add name trgw-s1 mtu 1500 master trellis_gw up type veth peer name gw0 netns trsb-web mtu 1500',
      'ip link set dev trgw-s1 type bridge_slave isolated on',
      'sysctl -w net.ipv4.ip_forward=1',
      `ip -n ${NS} link add name trbr-100 mtu 1450 up type bridge`,
      `ip -n ${NS} link set dev trvx-100 master trbr-100 up`,
      `ip -n ${NS} link add name trve-e1aaaaaaaa mtu 1450 master trbr-100 up type veth peer name eth0 netns trsb-web address 02:42:0a:e7:01:02 mtu 1450`,
      `ip -n ${NS} neigh replace 10.231.1.3 lladdr 02:42:0a:e7:01:03 dev trvx-100 nud permanent`,
      `bridge -n ${NS} fdb replace 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.2 self permanent`,
      `ip netns exec ${NS} ${BRIDGE_NETFILTER_OFF}`,
      `ip -n trsb-web link set dev lo up alias ${OWNER_TAG_PREFIX}${OWNER}`,
      'ip -n trsb-web link set dev eth0 alias trve-e1aaaaaaaa up',
      'ip -n trsb-web addr add 10.231.1.2/24 dev eth0',
      'ip -n trsb-web ntable change name arp_cache dev eth0 retrans 20',
      'ip -n trsb-web link set dev gw0 alias trgw-s1 up',
      'ip -n trsb-web addr add 172.29.0.2/16 dev gw0',
      'ip -n trsb-web route replace default via 172.29.0.1 dev gw0',
    ]);
    expect(planned[planned.length - 1]).toMatch(/^nft -f - << "table ip trellis\\ndelete table ip trellis\\ntable ip trellis \{/);
  });

  test('a kernel that already matches needs no writes', () => {
    expect(plan(want(), programmed(want()))).toEqual([]);
  });

  test("turns bridge netfilter back off in a network's namespace, and leaves it be where br_netfilter is not loaded", () => {
    const on = programmed(want());
    firstNetwork(on).bridgeNetfilter = true;
    const absent = programmed(want());
    firstNetwork(absent).bridgeNetfilter = undefined;

    expect(commands(plan(want(), on))).toEqual([`ip netns exec ${NS} ${BRIDGE_NETFILTER_OFF}`]);
    expect(plan(want(), absent)).toEqual([]);
  });

  test('removing everything deletes owned links, our namespaces and the firewall once, and leaves the rest alone', () => {
    const observed = programmed(want());
    observed.hostLinks.push(link('docker0', { kind: 'bridge', ifindex: 99 }));
    observed.networks.push({ netns: networkNetnsName('node-b', 100), links: [], fdb: [], neighbours: [], bridgeNetfilter: true });

    // The sandbox's veths (both ends) and the network's bridge and entries go with their namespaces.
    expect(commands(plan(EMPTY, observed))).toEqual([
      'ip link del dev trellis_gw',
      `ip -n ${NS} link del dev trvx-100`,
      'ip netns del trsb-web',
      `ip netns del ${NS}`,
      DELETE_FIREWALL,
    ]);
  });

  test('removing a sandbox of ours deletes its namespace and none of its veths: the kernel takes both ends of each along', () => {
    const planned = commands(plan(want(view({ sandboxes: [], endpoints: [remote] })), programmed(want())));

    expect(planned).toContain('ip netns del trsb-web');
    expect(planned.filter((c) => /link del dev (trve|trgw)-/.test(c))).toEqual([]);
  });

  test('a veth whose other end is not in the deleted namespace is still deleted: only true pairs go along', () => {
    const observed = programmed(want());
    const hostEnd = linkIn(firstNetwork(observed).links, 'trve-e1aaaaaaaa');
    hostEnd.peerIfindex = 999;

    expect(commands(plan(want(view({ sandboxes: [], endpoints: [remote] })), observed))).toContain(`ip -n ${NS} link del dev trve-e1aaaaaaaa`);
  });

  test("removing a network whose sandbox stays deletes its VXLAN device and the sandbox's veth first, not its bridge", () => {
    const observed = programmed(want());

    expect(commands(plan(want(view({ networks: [], endpoints: [] })), observed)).filter((c) => c.includes(NS))).toEqual([
      `ip -n ${NS} link del dev trvx-100`,
      `ip -n ${NS} link del dev trve-e1aaaaaaaa`,
      `ip netns del ${NS}`,
    ]);
  });

  test('sandboxes tagged by another agent, or not tagged, are never removed', () => {
    const observed = programmed(want(), 'node-b');
    const untagged = programmed(want());
    untagged.sandboxes.forEach((s) => s.links.filter((l) => l.name === 'lo').forEach((l) => (l.alias = undefined)));

    expect(commands(plan(EMPTY, observed))).not.toContain('ip netns del trsb-web');
    expect(commands(plan(EMPTY, untagged))).not.toContain('ip netns del trsb-web');
  });

  test('a wanted sandbox tagged by someone else is taken over, not recreated', () => {
    expect(commands(plan(want(), programmed(want(), 'node-b')))).toEqual([
      `ip -n trsb-web link set dev lo up alias ${OWNER_TAG_PREFIX}${OWNER}`,
    ]);
  });

  test.each([
    ['the wrong immutable attributes', (vxlan: ReturnType<typeof link>) => { if (vxlan.vxlan) vxlan.vxlan.proxy = false; }],
    ['another underlay', (vxlan: ReturnType<typeof link>) => { if (vxlan.vxlan) vxlan.vxlan.underlayDevice = 'if9'; }],
  ])('a VXLAN device with %s is recreated from the host namespace, with its entries', (_what, spoil) => {
    const observed = programmed(want());
    spoil(linkIn(firstNetwork(observed).links, 'trvx-100'));

    expect(commands(plan(want(), observed))).toEqual([
      `ip -n ${NS} link del dev trvx-100`,
      `ip link add name trvx-100 netns ${NS} mtu 1450 type vxlan id 100 dstport 4789 local 198.18.0.1 dev uplink nolearning proxy`,
      `ip -n ${NS} link set dev trvx-100 master trbr-100 up`,
      `ip -n ${NS} neigh replace 10.231.1.3 lladdr 02:42:0a:e7:01:03 dev trvx-100 nud permanent`,
      `bridge -n ${NS} fdb replace 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.2 self permanent`,
    ]);
  });

  test('a VXLAN device left in the host namespace (a crash before the move, or an older agent) is removed', () => {
    const observed = programmed(want());
    observed.hostLinks.push(link('trvx-100', { kind: 'vxlan', ifindex: 77 }), link('trbr-100', { kind: 'bridge', ifindex: 78 }));

    expect(commands(plan(want(), observed))).toEqual(['ip link del dev trvx-100', 'ip link del dev trbr-100']);
  });

  test('mutable link attributes are fixed in place with one command per link', () => {
    const observed = programmed(want());
    const links = firstNetwork(observed).links;
    const vxlan = linkIn(links, 'trvx-100');
    linkIn(links, 'trbr-100').mtu = 1500;
    vxlan.master = undefined;
    vxlan.up = false;
    linkIn(observed.sandboxes[0]?.links, 'eth0').mac = '02:00:00:00:00:99';

    expect(commands(plan(want(), observed))).toEqual([
      `ip -n ${NS} link set dev trbr-100 mtu 1450`,
      `ip -n ${NS} link set dev trvx-100 master trbr-100 up`,
      'ip -n trsb-web link set dev eth0 address 02:42:0a:e7:01:02',
    ]);
  });

  test('a bridge of the wrong kind is recreated and its ports are re-enslaved', () => {
    const observed = programmed(want());
    linkIn(firstNetwork(observed).links, 'trbr-100').kind = 'veth';

    expect(commands(plan(want(), observed))).toEqual([
      `ip -n ${NS} link del dev trbr-100`,
      `ip -n ${NS} link add name trbr-100 mtu 1450 up type bridge`,
      `ip -n ${NS} link set dev trvx-100 master trbr-100`,
      `ip -n ${NS} link set dev trve-e1aaaaaaaa master trbr-100`,
    ]);
  });

  test('stray, misdirected and non-permanent forwarding entries are corrected', () => {
    const observed = programmed(want());
    const network0 = firstNetwork(observed);
    network0.fdb = [
      { device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.9', permanent: true },
      { device: 'trvx-100', mac: '00:00:00:00:00:00', dst: '198.18.0.2', permanent: true },
    ];
    network0.neighbours = [
      { device: 'trvx-100', ip: '10.231.1.3', mac: '02:00:00:00:00:09', permanent: true },
      { device: 'trvx-100', ip: '10.231.1.9', mac: undefined, permanent: false },
    ];

    expect(commands(plan(want(), observed))).toEqual([
      `ip -n ${NS} neigh del 10.231.1.9 dev trvx-100`,
      `ip -n ${NS} neigh replace 10.231.1.3 lladdr 02:42:0a:e7:01:03 dev trvx-100 nud permanent`,
      `bridge -n ${NS} fdb del 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.9 self`,
      `bridge -n ${NS} fdb del 00:00:00:00:00:00 dev trvx-100 dst 198.18.0.2 self`,
      `bridge -n ${NS} fdb replace 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.2 self permanent`,
    ]);
    network0.fdb = [{ device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.2', permanent: false }];
    network0.neighbours = [{ device: 'trvx-100', ip: '10.231.1.3', mac: '02:42:0a:e7:01:03', permanent: false }];
    expect(plan(want(), observed)).toHaveLength(2);
  });

  test('a sandbox or network namespace that exists only as a dangling name is replaced', () => {
    const observed = {
      ...NOTHING_OBSERVED,
      brokenSandboxes: ['trsb-web', 'trsb-someone-else'],
      brokenNetworks: [NS],
    };

    const planned = commands(plan(want(), observed));

    expect(planned.slice(0, 4)).toEqual(['ip netns del trsb-web', `ip netns del ${NS}`, 'ip netns add trsb-web', `ip netns add ${NS}`]);
    expect(planned.join('\n')).not.toContain('trsb-someone-else');
  });

  test('two networks get a namespace each, even with the same subnet', () => {
    const twin = { ...network, id: 'n2', vni: 200 };
    const second = { ...local, id: 'e4dddddddddddd', networkId: 'n2', interfaceName: 'eth1' };
    const kernel = want(view({ networks: [network, twin], endpoints: [local, second] }));

    expect(kernel.networks.map((n) => n.netns)).toEqual([NS, networkNetnsName(OWNER, 200)]);
    expect(kernel.endpoints.map((e) => [e.interfaceName, e.networkNetns, e.address])).toEqual([
      ['eth0', NS, '10.231.1.2/24'],
      ['eth1', networkNetnsName(OWNER, 200), '10.231.1.2/24'],
    ]);
  });

  test('veths whose peers got crossed are recreated without deleting anything twice', () => {
    const two = view({
      endpoints: [local, remote, { ...local, id: 'e3cccccccccccc', networkId: 'n1', ip: '10.231.1.4', mac: '02:42:0a:e7:01:04', interfaceName: 'eth1' }],
    });
    const observed = programmed(want(two));
    const [vethA, vethC] = firstNetwork(observed).links.filter((l) => l.kind === 'veth');
    const eth0 = linkIn(observed.sandboxes[0]?.links, 'eth0');
    const eth1 = linkIn(observed.sandboxes[0]?.links, 'eth1');
    if (!vethA || !vethC) throw new Error('fixture');
    [vethA.peerIfindex, vethC.peerIfindex] = [vethC.peerIfindex, vethA.peerIfindex];
    [eth0.peerIfindex, eth1.peerIfindex] = [eth1.peerIfindex, eth0.peerIfindex];

    const planned = commands(plan(want(two), observed));

    expect(planned.filter((c) => c.includes(' del '))).toEqual([`ip -n ${NS} link del dev trve-e1aaaaaaaa`, `ip -n ${NS} link del dev trve-e3cccccccc`]);
    expect(planned.filter((c) => c.includes('type veth'))).toHaveLength(2);
  });

  test("a sandbox end whose alias names another host end is not taken for that one's peer", () => {
    const observed = programmed(want());
    linkIn(observed.sandboxes[0]?.links, 'eth0').alias = 'trve-e9zzzzzzzz';

    expect(commands(plan(want(), observed)).filter((c) => / del |type veth/.test(c))).toEqual([
      `ip -n ${NS} link del dev trve-e1aaaaaaaa`,
      `ip -n ${NS} link add name trve-e1aaaaaaaa mtu 1450 master trbr-100 up type veth peer name eth0 netns trsb-web address 02:42:0a:e7:01:02 mtu 1450`,
    ]);
  });

  test('an endpoint leaving its sandbox takes its interface along, and the last one the egress with the gateway', () => {
    const observed = programmed(want());

    expect(commands(plan(want(view({ endpoints: [remote] })), observed))).toEqual([
      'ip link del dev trellis_gw',
      'ip link del dev trgw-s1',
      `ip -n ${NS} link del dev trve-e1aaaaaaaa`,
      DELETE_FIREWALL,
    ]);
  });

  test('a stray interface in our sandbox, and one squatting on a wanted name, are deleted', () => {
    const observed = programmed(want());
    const links = observed.sandboxes[0]?.links;
    if (!links) throw new Error('fixture');
    links.push(link('eth7', { kind: 'veth', ifindex: 40, peerIfindex: 41 }));
    links.splice(links.findIndex((l) => l.name === 'eth0'), 1, link('eth0', { kind: 'macvlan', ifindex: 42 }));

    expect(commands(plan(want(), observed))).toEqual([
      `ip -n ${NS} link del dev trve-e1aaaaaaaa`,
      'ip -n trsb-web link del dev eth0',
      'ip -n trsb-web link del dev eth7',
      `ip -n ${NS} link add name trve-e1aaaaaaaa mtu 1450 master trbr-100 up type veth peer name eth0 netns trsb-web address 02:42:0a:e7:01:02 mtu 1450`,
      'ip -n trsb-web link set dev eth0 alias trve-e1aaaaaaaa up',
      'ip -n trsb-web addr add 10.231.1.2/24 dev eth0',
      'ip -n trsb-web ntable change name arp_cache dev eth0 retrans 20',
    ]);
  });

  test('a sandbox interface whose ARP retransmit interval differs gets one ntable change, an equal one none', () => {
    const observed = programmed(want());
    const eth0 = linkIn(observed.sandboxes[0]?.links, 'eth0');
    expect(eth0.arpRetransMs).toBe(20);
    expect(plan(want(), observed)).toEqual([]);

    eth0.arpRetransMs = 1000;

    expect(commands(plan(want(), observed))).toEqual([
      'ip -n trsb-web ntable change name arp_cache dev eth0 retrans 20',
    ]);
  });

  test('an extra address is deleted, and a default route through an overlay interface gives way to the egress one', () => {
    const observed = programmed(want());
    linkIn(observed.sandboxes[0]?.links, 'eth0').addresses.push('10.231.1.200/24');
    observed.sandboxes[0] = { ...(observed.sandboxes[0] as ObservedSandbox), defaultRoute: { gateway: '10.231.1.1', device: 'eth0' } };

    expect(commands(plan(want(), observed))).toEqual([
      'ip -n trsb-web addr del 10.231.1.200/24 dev eth0',
      'ip -n trsb-web route replace default via 172.29.0.1 dev gw0',
    ]);
  });

  test('a sandbox on internal networks only has no egress, no default route, and the host no gateway bridge', () => {
    const internal = want(view({ networks: [{ ...network, internal: true }] }));
    expect(internal.sandboxes.map((s) => [s.egress, s.defaultRoute])).toEqual([[undefined, undefined]]);
    expect(internal.gateway).toBeUndefined();

    const observed = programmed(want());
    observed.sandboxes[0] = { ...(observed.sandboxes[0] as ObservedSandbox), defaultRoute: { gateway: '10.231.1.1', device: 'eth0' } };
    expect(commands(plan(internal, observed))).toEqual([
      'ip link del dev trellis_gw',
      'ip link del dev trgw-s1',
      'ip -n trsb-web route del default',
      DELETE_FIREWALL,
    ]);
  });

  test('an egress address a sandbox holds is kept; new ones take the lowest free', () => {
    const two = view({
      sandboxes: [{ networkMode: '', sharesNetns: false, id: 's1', name: 'web', netnsName: 'trsb-web', netnsPath: '' }, { networkMode: '', sharesNetns: false, id: 's2', name: 'db', netnsName: 'trsb-db', netnsPath: '' }],
      endpoints: [local, { ...local, id: 'e5eeeeeeeeeeee', sandboxId: 's2', ip: '10.231.1.5', mac: '02:42:0a:e7:01:05' }],
    });
    const kernel = want(two, new Map([['trsb-web', '172.29.0.2'], ['trsb-db', '10.9.9.9']]));

    expect(kernel.sandboxes.map((s) => [s.netns, s.egress?.address])).toEqual([
      ['trsb-web', '172.29.0.2/16'],
      ['trsb-db', '172.29.0.3/16'],
    ]);
    expect(want(two, new Map([['trsb-db', '172.29.0.2']])).sandboxes.map((s) => s.egress?.address)).toEqual(['172.29.0.3/16', '172.29.0.2/16']);
  });

  test('a published port changes the firewall table, in one atomic replace, and nothing else', () => {
    const published = view({ endpoints: [{ ...local, publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }] }, remote] });
    const planned = commands(plan(want(published), programmed(want())));

    expect(planned).toHaveLength(1);
    expect(planned[0]).toMatch(/^nft -f - << "table ip trellis\\ndelete table ip trellis\\n.*tcp dport 8080 dnat to 172\.29\.0\.2:80/);
    expect(plan(want(published), programmed(want(published)))).toEqual([]);
  });

  test('a firewall table changed by hand is replaced whole', () => {
    const observed = { ...programmed(want()), firewall: 'table ip trellis {\n}' };
    expect(commands(plan(want(), observed))).toEqual([expect.stringMatching(/^nft -f - << "table ip trellis\\ndelete table ip trellis\\ntable ip trellis \{/)]);
  });
});

const arbitraryView: fc.Arbitrary<NodeView> = fc
  .record({
    vnis: fc.uniqueArray(fc.integer({ min: 1, max: 2000 }), { minLength: 0, maxLength: 3 }),
    sandboxKinds: fc.array(fc.constantFrom('created', 'named', 'attached'), { maxLength: 3 }),
    endpoints: fc.array(
      fc.record({
        network: fc.nat(),
        sandbox: fc.nat(),
        remoteNode: fc.option(fc.integer({ min: 2, max: 5 }), { nil: undefined }),
        host: fc.integer({ min: 2, max: 250 }),
        withGateway: fc.boolean(),
      }),
      { maxLength: 8 },
    ),
  })
  .map(({ vnis, sandboxKinds, endpoints }) => {
    const networks = vnis.map((vni, i) => ({ id: `n${i}`, name: `n${i}`, driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni, subnet: `10.231.${i}.0/24`, gateway: `10.231.${i}.1`, mtu: 0, internal: false }));
    const paths = { created: () => '', named: (i: number) => `/run/netns/ext-s${i}`, attached: (i: number) => `/proc/${100 + i}/ns/net` };
    const sandboxes = sandboxKinds.map((kind, i) => ({ id: `s${i}`, name: `s${i}`, netnsName: `trsb-s${i}`, networkMode: '', sharesNetns: false, netnsPath: paths[kind](i) }));
    const sandboxCount = sandboxes.length;
    return view({
      networks,
      sandboxes,
      endpoints: endpoints.flatMap((e, i) => {
        const net = networks.length > 0 ? e.network % networks.length : 0;
        const hex = (i + 16).toString(16);
        return [{
          id: `ep${i}xxxxxxxxxxxx`, networkId: `n${net}`, sandboxId: sandboxCount > 0 ? `s${e.sandbox % sandboxCount}` : 'none',
          nodeId: e.remoteNode === undefined ? 'A' : `node${e.remoteNode}`, vtep: `198.18.0.${e.remoteNode ?? 1}`,
          ip: `10.231.${net}.${e.host}`, prefixLength: 24, mac: `02:42:00:00:00:${hex}`, interfaceName: `eth${i}`, hostname: '', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
        }];
      }),
    });
  });

describe('plan properties', () => {
  test('any view, once programmed, plans no writes', () => {
    fc.assert(
      fc.property(arbitraryView, (nodeView) => {
        expect(plan(want(nodeView), programmed(want(nodeView)))).toEqual([]);
      }),
    );
  });

  test('moving between any two views touches only owned objects and never deletes the same link twice', () => {
    fc.assert(
      fc.property(arbitraryView, arbitraryView, (before, after) => {
        const observed = programmed(want(before));
        observed.hostLinks.push(link('eth9', { kind: 'bridge', ifindex: 500 }));
        const planned = commands(plan(want(after), observed));
        const deletes = planned.filter((c) => / link del /.test(c));
        expect(new Set(deletes).size).toBe(deletes.length);
        expect(planned.filter((c) => /link (del|set) dev (uplink|eth9)|eth9/.test(c))).toEqual([]);
        // Namespaces someone else named: never made or removed, their lo and their own interfaces never touched.
        expect(planned.filter((c) => /ext0|netns \w+ ext-|-n ext-\S+ link (del|set dev lo)/.test(c))).toEqual([]);
      }),
    );
  });

  test('removing everything from any programmed view deletes each owned link its namespace does not take along, and each name, exactly once', () => {
    fc.assert(
      fc.property(arbitraryView, (nodeView) => {
        const observed = programmed(want(nodeView));
        // Veths into a namespace we created go with it; those into an adopted one are deleted, as is each VXLAN device.
        const created = new Set(want(nodeView).sandboxes.filter((s) => s.origin.kind === 'created').map((s) => s.netns));
        const goesAlong = new Set(observed.sandboxes.filter((s) => created.has(s.netns)).flatMap((s) => s.links.map((l) => l.alias)));
        const owned = observed.hostLinks.filter((l) => l.name.startsWith('tr') && !goesAlong.has(l.name)).map((l) => `ip link del dev ${l.name}`);
        const sandboxes = observed.sandboxes.filter((s) => s.netns.startsWith('trsb-')).map((s) => `ip netns del ${s.netns}`);
        const networks = observed.networks.flatMap((n) => [
          `ip netns del ${n.netns}`,
          ...n.links
            .filter((l) => l.kind === 'vxlan' || (l.kind === 'veth' && !goesAlong.has(l.name)))
            .map((l) => `ip -n ${n.netns} link del dev ${l.name}`),
        ]);
        const firewall = observed.firewall === undefined ? [] : [DELETE_FIREWALL];
        expect(commands(plan(EMPTY, observed)).sort()).toEqual([...owned, ...sandboxes, ...networks, ...firewall].sort());
      }),
    );
  });
});
