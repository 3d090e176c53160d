import fc from 'fast-check';
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { ObservedSandbox } from '../kernel';
import { OWNER_TAG_PREFIX, plan } from './plan';
import { EMPTY, NOTHING_OBSERVED, OWNER, commands, link, programmed, view, want } from './plan-fixtures';
import { local, network, remote } from './test-fixtures';

describe('plan', () => {
  test('from nothing, builds everything in an order the kernel accepts', () => {
    expect(commands(plan(want(), NOTHING_OBSERVED))).toEqual([
      'ip netns add trsb-web',
      'ip link add name trbr-100 mtu 1450 up type bridge',
      'ip link add name trvx-100 mtu 1450 master trbr-100 up type vxlan id 100 dstport 4789 local 198.18.0.1 dev uplink nolearning proxy',
      'ip link add name trve-e1aaaaaaaa mtu 1450 master trbr-100 up type veth peer name eth0 netns trsb-web address 02:42:0a:e7:01:02 mtu 1450',
      `ip -n trsb-web link set dev lo up alias ${OWNER_TAG_PREFIX}${OWNER}`,
      'ip -n trsb-web link set dev eth0 up',
      'ip -n trsb-web addr add 10.231.1.2/24 dev eth0',
      'ip -n trsb-web ntable change name arp_cache dev eth0 retrans 20',
      'ip -n trsb-web route replace default via 10.231.1.1 dev eth0',
      'bridge fdb replace 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.2 self permanent',
      'ip neigh replace 10.231.1.3 lladdr 02:42:0a:e7:01:03 dev trvx-100 nud permanent',
    ]);
  });

  test('a kernel that already matches needs no writes', () => {
    expect(plan(want(), programmed(want()))).toEqual([]);
  });

  test('removing everything deletes owned links and our sandbox once, and leaves the rest alone', () => {
    const observed = programmed(want());
    observed.hostLinks.push(link('docker0', { kind: 'bridge', ifindex: 99 }));

    expect(commands(plan(EMPTY, observed))).toEqual([
      'ip link del dev trbr-100',
      'ip link del dev trvx-100',
      'ip link del dev trve-e1aaaaaaaa',
      'ip netns del trsb-web',
    ]);
  });

  test("sandboxes tagged by another agent, or not tagged, are never removed", () => {
    const observed = programmed(want(), 'node-b');
    const untagged = programmed(want());
    untagged.sandboxes.forEach((s) => s.links.forEach((l) => (l.alias = undefined)));

    expect(commands(plan(EMPTY, observed))).not.toContain('ip netns del trsb-web');
    expect(commands(plan(EMPTY, untagged))).not.toContain('ip netns del trsb-web');
  });

  test("a wanted sandbox tagged by someone else is taken over, not recreated", () => {
    expect(commands(plan(want(), programmed(want(), 'node-b')))).toEqual([
      `ip -n trsb-web link set dev lo up alias ${OWNER_TAG_PREFIX}${OWNER}`,
    ]);
  });

  test('a VXLAN device with the wrong immutable attributes is recreated, with its entries', () => {
    const observed = programmed(want());
    const vxlan = observed.hostLinks.find((l) => l.name === 'trvx-100');
    if (vxlan?.vxlan === undefined) throw new Error('fixture');
    vxlan.vxlan.proxy = false;

    expect(commands(plan(want(), observed))).toEqual([
      'ip link del dev trvx-100',
      'ip link add name trvx-100 mtu 1450 master trbr-100 up type vxlan id 100 dstport 4789 local 198.18.0.1 dev uplink nolearning proxy',
      'bridge fdb replace 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.2 self permanent',
      'ip neigh replace 10.231.1.3 lladdr 02:42:0a:e7:01:03 dev trvx-100 nud permanent',
    ]);
  });

  test('mutable link attributes are fixed in place with one command per link', () => {
    const observed = programmed(want());
    const bridge = observed.hostLinks.find((l) => l.name === 'trbr-100');
    const vxlan = observed.hostLinks.find((l) => l.name === 'trvx-100');
    const eth0 = observed.sandboxes[0]?.links.find((l) => l.name === 'eth0');
    if (!bridge || !vxlan || !eth0) throw new Error('fixture');
    bridge.mtu = 1500;
    vxlan.master = undefined;
    vxlan.up = false;
    eth0.mac = '02:00:00:00:00:99';

    expect(commands(plan(want(), observed))).toEqual([
      'ip link set dev trbr-100 mtu 1450',
      'ip link set dev trvx-100 master trbr-100 up',
      'ip -n trsb-web link set dev eth0 address 02:42:0a:e7:01:02',
    ]);
  });

  test('a bridge of the wrong kind is recreated and its ports are re-enslaved', () => {
    const observed = programmed(want());
    const bridge = observed.hostLinks.find((l) => l.name === 'trbr-100');
    if (!bridge) throw new Error('fixture');
    bridge.kind = 'veth';

    expect(commands(plan(want(), observed))).toEqual([
      'ip link del dev trbr-100',
      'ip link add name trbr-100 mtu 1450 up type bridge',
      'ip link set dev trvx-100 master trbr-100',
      'ip link set dev trve-e1aaaaaaaa master trbr-100',
    ]);
  });

  test('stray, misdirected and non-permanent forwarding entries are corrected', () => {
    const observed = programmed(want());
    observed.fdb = [
      { device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.9', permanent: true },
      { device: 'trvx-100', mac: '00:00:00:00:00:00', dst: '198.18.0.2', permanent: true },
    ];
    observed.neighbours = [
      { device: 'trvx-100', ip: '10.231.1.3', mac: '02:00:00:00:00:09', permanent: true },
      { device: 'trvx-100', ip: '10.231.1.9', mac: undefined, permanent: false },
    ];

    expect(commands(plan(want(), observed))).toEqual([
      'bridge fdb del 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.9 self',
      'bridge fdb del 00:00:00:00:00:00 dev trvx-100 dst 198.18.0.2 self',
      'bridge fdb replace 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.2 self permanent',
      'ip neigh del 10.231.1.9 dev trvx-100',
      'ip neigh replace 10.231.1.3 lladdr 02:42:0a:e7:01:03 dev trvx-100 nud permanent',
    ]);
    observed.fdb = [{ device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.2', permanent: false }];
    observed.neighbours = [{ device: 'trvx-100', ip: '10.231.1.3', mac: '02:42:0a:e7:01:03', permanent: false }];
    expect(plan(want(), observed)).toHaveLength(2);
  });

  test('a sandbox that exists only as a dangling name is replaced', () => {
    const observed = { ...NOTHING_OBSERVED, brokenSandboxes: ['trsb-web', 'trsb-someone-else'] };

    const planned = commands(plan(want(), observed));

    expect(planned.slice(0, 2)).toEqual(['ip netns del trsb-web', 'ip netns add trsb-web']);
    expect(planned.join('\n')).not.toContain('trsb-someone-else');
  });

  test('veths whose peers got crossed are recreated without deleting anything twice', () => {
    const two = view({
      endpoints: [local, remote, { ...local, id: 'e3cccccccccccc', networkId: 'n1', ip: '10.231.1.4', mac: '02:42:0a:e7:01:04', interfaceName: 'eth1' }],
    });
    const observed = programmed(want(two));
    const [vethA, vethC] = observed.hostLinks.filter((l) => l.kind === 'veth' && l.name.startsWith('trve-'));
    const [eth0, eth1] = observed.sandboxes[0]?.links.filter((l) => l.kind === 'veth') ?? [];
    if (!vethA || !vethC || !eth0 || !eth1) throw new Error('fixture');
    [vethA.peerIfindex, vethC.peerIfindex] = [vethC.peerIfindex, vethA.peerIfindex];
    [eth0.peerIfindex, eth1.peerIfindex] = [eth1.peerIfindex, eth0.peerIfindex];

    const planned = commands(plan(want(two), observed));

    expect(planned.filter((c) => c.includes(' del '))).toEqual(['ip link del dev trve-e1aaaaaaaa', 'ip link del dev trve-e3cccccccc']);
    expect(planned.filter((c) => c.includes('type veth'))).toHaveLength(2);
  });

  test('an endpoint leaving its sandbox takes its interface along and its route with it', () => {
    const observed = programmed(want());

    expect(commands(plan(want(view({ endpoints: [remote] })), observed))).toEqual([
      'ip link del dev trve-e1aaaaaaaa',
    ]);
  });

  test('a stray interface in our sandbox, and one squatting on a wanted name, are deleted', () => {
    const observed = programmed(want());
    const links = observed.sandboxes[0]?.links;
    if (!links) throw new Error('fixture');
    links.push(link('eth7', { kind: 'veth', ifindex: 40, peerIfindex: 41 }));
    links.splice(links.findIndex((l) => l.name === 'eth0'), 1, link('eth0', { kind: 'macvlan', ifindex: 42 }));
    observed.sandboxes[0] = { ...(observed.sandboxes[0] as ObservedSandbox), defaultRoute: undefined };

    expect(commands(plan(want(), observed))).toEqual([
      'ip link del dev trve-e1aaaaaaaa',
      'ip -n trsb-web link del dev eth0',
      'ip -n trsb-web link del dev eth7',
      'ip link add name trve-e1aaaaaaaa mtu 1450 master trbr-100 up type veth peer name eth0 netns trsb-web address 02:42:0a:e7:01:02 mtu 1450',
      'ip -n trsb-web link set dev eth0 up',
      'ip -n trsb-web addr add 10.231.1.2/24 dev eth0',
      'ip -n trsb-web ntable change name arp_cache dev eth0 retrans 20',
      'ip -n trsb-web route replace default via 10.231.1.1 dev eth0',
    ]);
  });

  test('a sandbox interface whose ARP retransmit interval differs gets one ntable change, an equal one none', () => {
    const observed = programmed(want());
    const eth0 = observed.sandboxes[0]?.links.find((l) => l.name === 'eth0');
    if (!eth0) throw new Error('fixture');
    expect(eth0.arpRetransMs).toBe(20);
    expect(plan(want(), observed)).toEqual([]);

    eth0.arpRetransMs = 1000;

    expect(commands(plan(want(), observed))).toEqual([
      'ip -n trsb-web ntable change name arp_cache dev eth0 retrans 20',
    ]);
  });

  test('a default route that is no longer wanted is deleted, an extra address too', () => {
    const observed = programmed(want());
    const eth0 = observed.sandboxes[0]?.links.find((l) => l.name === 'eth0');
    if (!eth0) throw new Error('fixture');
    eth0.addresses.push('10.231.1.200/24');

    expect(commands(plan(want(view({ networks: [{ ...network, gateway: '' }] })), observed))).toEqual([
      'ip -n trsb-web addr del 10.231.1.200/24 dev eth0',
      'ip -n trsb-web route del default',
    ]);
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
    const networks = vnis.map((vni, i) => ({ id: `n${i}`, name: `n${i}`, vni, subnet: `10.231.${i}.0/24`, gateway: `10.231.${i}.1`, mtu: 0, internal: false }));
    const paths = { created: () => '', named: (i: number) => `/run/netns/ext-s${i}`, attached: (i: number) => `/proc/${100 + i}/ns/net` };
    const sandboxes = sandboxKinds.map((kind, i) => ({ id: `s${i}`, name: `s${i}`, netnsName: `trsb-s${i}`, netnsPath: paths[kind](i) }));
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
          ip: `10.231.${net}.${e.host}`, prefixLength: 24, mac: `02:42:00:00:00:${hex}`, interfaceName: `eth${i}`, hostname: '', extraHosts: [], dns: [],
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

  test('removing everything from any programmed view deletes each owned link and sandbox name exactly once', () => {
    fc.assert(
      fc.property(arbitraryView, (nodeView) => {
        const observed = programmed(want(nodeView));
        const owned = observed.hostLinks.filter((l) => l.name.startsWith('tr')).map((l) => `ip link del dev ${l.name}`);
        const sandboxes = observed.sandboxes.filter((s) => s.netns.startsWith('trsb-')).map((s) => `ip netns del ${s.netns}`);
        expect(commands(plan(EMPTY, observed)).sort()).toEqual([...owned, ...sandboxes].sort());
      }),
    );
  });
});
