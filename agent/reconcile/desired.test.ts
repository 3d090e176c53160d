import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { networkNetnsName } from '../kernel';
import { DEFAULT_GATEWAY_SUBNET, desired } from './desired';
import { adoptedNetnsQuery } from './sandbox-placement';
import { local, network, remote, sampleView, sandbox } from './test-fixtures';

const back = { id: 'n2', name: 'back', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 200, subnet: '10.231.2.0/24', gateway: '10.231.2.1', mtu: 0, internal: false };
// Upper-case MAC in the view: the kernel's spelling is lower case.
const view = (parts: Partial<NodeView> = {}) =>
  sampleView({ endpoints: [{ ...local, mac: '02:42:0A:E7:01:02' }, remote], ...parts });
const options = { underlayDevice: 'uplink', underlayMtu: 9000, ownerTag: 'me', gatewaySubnet: DEFAULT_GATEWAY_SUBNET, heldEgressAddresses: new Map<string, string>() };
const NS = networkNetnsName('me', 100);
const adopting = (netnsPath: string, netnsName = sandbox.netnsName) => view({ sandboxes: [{ ...sandbox, netnsName, netnsPath }] });

describe('desired', () => {
  test('a network becomes a namespace of its own with a bridge and a learning-free proxy VXLAN device at underlay MTU - 50', () => {
    const { kernel } = desired(view(), options);
    expect(kernel.networks.map(({ netns, bridge, vxlan }) => ({ netns, bridge, vxlan }))).toEqual([{
      netns: NS,
      bridge: { name: 'trbr-100', mtu: 8950 },
      vxlan: {
        name: 'trvx-100', vni: 100, local: '198.18.0.1', port: 4789, underlayDevice: 'uplink',
        learning: false, proxy: true, mtu: 8950, bridge: 'trbr-100',
      },
    }]);
  });

  test("network namespaces carry a digest of the owner, so agents sharing /run/netns never meet", () => {
    expect(NS).toMatch(/^trnw-[0-9a-f]{8}-100$/);
    expect(networkNetnsName('other', 100)).not.toBe(NS);
  });

  test("a network's own MTU wins over underlay MTU - 50 for its bridge, VXLAN device and veths", () => {
    const { kernel } = desired(view({ networks: [{ ...network, mtu: 1400 }] }), options);
    expect(kernel.networks.map((n) => [n.bridge.mtu, n.vxlan.mtu])).toEqual([[1400, 1400]]);
    expect(kernel.endpoints.map((endpoint) => endpoint.mtu)).toEqual([1400]);
  });

  test('the local address option overrides the advertise address', () => {
    expect(desired(view(), { ...options, localAddress: '198.18.5.5' }).kernel.networks[0]?.vxlan.local).toBe('198.18.5.5');
  });

  test('a local endpoint becomes a veth pair into its sandbox, a remote one an FDB and a neighbour entry', () => {
    const { kernel, skipped } = desired(view(), options);
    expect(skipped).toEqual([]);
    expect(kernel.endpoints).toEqual([{
      hostName: 'trve-e1aaaaaaaa', networkNetns: NS, bridge: 'trbr-100', mtu: 8950, netns: 'trsb-web',
      interfaceName: 'eth0', mac: '02:42:0a:e7:01:02', address: '10.231.1.2/24', arpRetransMs: 20,
    }]);
    expect(kernel.networks[0]?.fdb).toEqual([{ device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.2' }]);
    expect(kernel.networks[0]?.neighbours).toEqual([{ device: 'trvx-100', ip: '10.231.1.3', mac: '02:42:0a:e7:01:03' }]);
    expect(kernel.ownerTag).toBe('me');
  });

  test('a sandbox on a non-internal network gets an egress interface on the gateway bridge, its default route through it', () => {
    const eth10 = { ...local, id: 'e10', networkId: 'n2', ip: '10.231.2.2', mac: '02:42:0a:e7:02:02', interfaceName: 'eth10' };
    const { kernel } = desired(view({ networks: [network, { ...back, internal: true }], endpoints: [eth10, local] }), options);
    expect(kernel.sandboxes).toEqual([{
      netns: 'trsb-web', origin: { kind: 'created' }, defaultRoute: { gateway: '172.29.0.1', device: 'gw0' },
      egress: { hostName: 'trgw-s1', interfaceName: 'gw0', address: '172.29.0.2/16', mtu: 9000, published: [] },
    }]);
    expect(kernel.gateway).toEqual({ bridge: 'trellis_gw', address: '172.29.0.1/16', subnet: '172.29.0.0/16', mtu: 9000 });
  });

  test('a sandbox without endpoints still exists, without a route or egress', () => {
    expect(desired(view({ endpoints: [] }), options).kernel.sandboxes).toEqual([
      { netns: 'trsb-web', origin: { kind: 'created' }, defaultRoute: undefined, egress: undefined },
    ]);
  });

  test('every overlay subnet of the cluster is isolated from the gateway bridge, hosted here or not', () => {
    const { kernel } = desired(view({ overlaySubnets: ['10.231.9.0/24', '10.231.1.0/24'] }), options);
    expect(kernel.isolatedSubnets).toEqual(['10.231.1.0/24', '10.231.9.0/24']);
  });

  test('published ports go to the sandbox egress address; one host port once, and never without egress', () => {
    const publishing = (ports: { protocol: string; hostPort: number; port: number }[]) => ({ ...local, publishedPorts: ports });
    const { kernel, skipped } = desired(view({
      endpoints: [publishing([{ protocol: 'tcp', hostPort: 8080, port: 80 }, { protocol: 'tcp', hostPort: 8080, port: 81 }, { protocol: 'sctp', hostPort: 9, port: 9 }])],
    }), options);
    expect(kernel.sandboxes[0]?.egress?.published).toEqual([{ protocol: 'tcp', hostPort: 8080, port: 80 }]);
    expect(skipped).toEqual([
      'sandbox s1: published port 8080:81/tcp: host port already published here',
      'sandbox s1: published port 9:9/sctp is invalid',
    ]);
    const internal = desired(view({ networks: [{ ...network, internal: true }], endpoints: [publishing([{ protocol: 'udp', hostPort: 53, port: 53 }])] }), options);
    expect(internal.skipped).toEqual(['sandbox s1: published port 53:53/udp needs a non-internal network (the gateway bridge)']);
  });

  test("the VXLAN port and the node's reserved ports are never published, even when the view asks (defence in depth)", () => {
    const ports = [
      { protocol: 'udp', hostPort: 4789, port: 80 },
      { protocol: 'tcp', hostPort: 9100, port: 80 },
      { protocol: 'udp', hostPort: 9100, port: 53 },
      { protocol: 'tcp', hostPort: 8080, port: 80 },
    ];
    const reservedPorts = [{ protocol: 'tcp', port: 9100, reason: "the agent's metrics port" }];
    const { kernel, skipped } = desired(view({ endpoints: [{ ...local, publishedPorts: ports }] }), { ...options, reservedPorts });
    expect(kernel.sandboxes[0]?.egress?.published).toEqual([{ protocol: 'udp', hostPort: 9100, port: 53 }, { protocol: 'tcp', hostPort: 8080, port: 80 }]);
    expect(skipped).toEqual([
      'sandbox s1: published port 4789:80/udp: host port 4789/udp is reserved on this node (the VXLAN port); never published',
      "sandbox s1: published port 9100:80/tcp: host port 9100/tcp is reserved on this node (the agent's metrics port); never published",
    ]);
  });

  test('a gateway subnet too small or malformed is refused', () => {
    expect(() => desired(view(), { ...options, gatewaySubnet: '172.29.0.0/30' })).toThrow(/--gateway-subnet/);
    expect(() => desired(view(), { ...options, gatewaySubnet: 'gw' })).toThrow(/--gateway-subnet/);
  });

  test('a remote endpoint needs no interface name (gossip brings none): it is an FDB and a neighbour entry all the same', () => {
    const { kernel, skipped } = desired(view({ endpoints: [local, { ...remote, interfaceName: '' }] }), options);
    expect(skipped).toEqual([]);
    expect(kernel.networks[0]?.fdb).toEqual([{ device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.2' }]);
  });

  test('endpoints of networks not in the view are ignored', () => {
    // A backend of an ingress service on a network the node does not host (the routing mesh holds it).
    const { kernel, skipped, skippedEndpointIds } = desired(view({ endpoints: [{ ...remote, networkId: 'elsewhere', serviceId: 'web' }] }), options);
    expect(kernel.networks[0]?.fdb).toEqual([]);
    expect(kernel.networks.map((desiredNetwork) => desiredNetwork.vxlan.vni)).toEqual(view().networks.map((viewed) => viewed.vni));
    expect(skipped).toEqual([]);
    // Nothing to program is not something left unprogrammed: the node does not report it so.
    expect(skippedEndpointIds).toEqual([]);
  });

  test.each([
    ['a netns name without our prefix', view({ sandboxes: [{ ...sandbox, netnsName: 'web' }] }), /netns name/],
    ['a name with a space', view({ endpoints: [{ ...local, interfaceName: 'eth 0' }] }), /interface name/],
    ['an interface name longer than 15', view({ endpoints: [{ ...local, interfaceName: 'a'.repeat(16) }] }), /interface name/],
    ['a bad IP', view({ endpoints: [{ ...local, ip: '10.231.1.300' }] }), /IP/],
    ['a bad MAC', view({ endpoints: [{ ...local, mac: '02:42' }] }), /MAC/],
    ['a bad VTEP', view({ endpoints: [{ ...remote, vtep: 'host-b' }] }), /VTEP/],
    ['a VNI out of range', view({ networks: [{ ...network, vni: 2 ** 24 }, back] }), /VNI/],
    ['an endpoint whose sandbox is elsewhere', view({ sandboxes: [] }), /not hosted here/],
    ['a duplicate IP in a network', view({ endpoints: [local, { ...remote, ip: local.ip }] }), /already used/],
    ['an adopted path of another shape', adopting('/var/run/docker/netns/1a2b'), /neither \/run\/netns\/NAME nor/],
    ['an adopted name under a subfolder', adopting('/run/netns/a/b'), /neither/],
    ['an adopted name of our own', adopting('/run/netns/trsb-other'), /"\/run\/netns\/trsb-other" is an agent's own sandbox namespace \(trsb-…\), which is never adopted/],
    ["an adopted agent's network namespace", adopting('/run/netns/trnw-1a2b3c4d-4096'), /is an agent's network namespace .*\(trnw-…\), which is never adopted/],
    ["an adopted lab host", adopting('/run/netns/trlab-a1'), /is one of the lab's hosts \(trlab-…\), which is never adopted/],
    ['an adopted name that reads as an option', adopting('/run/netns/-force'), /plain namespace/],
    ['an adopted process 0', adopting('/proc/0/ns/net'), /neither/],
    ['a pid above the kernel limit', adopting('/proc/4194305/ns/net'), /neither/],
    ['a process adopted under a foreign name', adopting('/proc/42/ns/net', 'web'), /netns name "web"/],
  ])('skips %s and says why, programming the rest', (_what, nodeView, reason) => {
    const { kernel, skipped } = desired(nodeView, options);
    expect(skipped[0]).toMatch(reason);
    expect(kernel.networks.length + kernel.endpoints.length).toBeGreaterThan(0);
  });

  test.each([
    ['nothing of a clean view', view(), []],
    ['a remote endpoint with a bad VTEP', view({ endpoints: [local, { ...remote, vtep: 'host-b' }] }), [remote.id]],
    ['every endpoint of a network whose VNI is out of range', view({ networks: [{ ...network, vni: 2 ** 24 }, back] }), [local.id, remote.id]],
    ['a local endpoint whose sandbox is skipped', view({ sandboxes: [{ ...sandbox, netnsName: 'web' }] }), [local.id]],
    ['the second owner of an address', view({ endpoints: [local, { ...remote, ip: local.ip }] }), [remote.id]],
  ])('names the endpoints it leaves unprogrammed: %s', (_what, nodeView, ids) => {
    expect(desired(nodeView, options).skippedEndpointIds).toEqual(ids);
  });
});

test('a local address that is not IPv4 is left out rather than written into a command', () => {
  const { kernel, skipped } = desired(view({ advertiseAddr: 'a b' }), options);
  expect(kernel.networks[0]?.vxlan.local).toBe('');
  expect(skipped[0]).toMatch(/local address/);
});

describe('desired, for adopted namespaces', () => {
  test('a /run/netns/NAME path is used under that name, marked as made by someone else, and left its own way out', () => {
    const { kernel, skipped } = desired(adopting('/run/netns/cni-7f3a'), options);
    expect(skipped).toEqual([]);
    expect(kernel.sandboxes).toEqual([{ netns: 'cni-7f3a', origin: { kind: 'named' }, defaultRoute: undefined, egress: undefined }]);
    expect(kernel.endpoints.map((endpoint) => [endpoint.netns, endpoint.interfaceName])).toEqual([['cni-7f3a', 'eth0']]);
  });

  test("a /proc/PID/ns/net path is attached under the sandbox's own name", () => {
    const { kernel } = desired(adopting('/proc/4242/ns/net'), options);
    expect(kernel.sandboxes.map(({ netns, origin }) => ({ netns, origin }))).toEqual([
      { netns: 'trsb-web', origin: { kind: 'attached', pid: 4242 } },
    ]);
  });

  test('a namespace adopted twice goes to the first sandbox only', () => {
    const twice = [
      { ...sandbox, netnsPath: '/run/netns/cni-7f3a' },
      { id: 's2', name: 'other', netnsName: 'trsb-other', networkMode: '', sharesNetns: false, netnsPath: '/run/netns/cni-7f3a' },
    ];
    const { kernel, skipped } = desired(view({ sandboxes: twice }), options);
    expect(kernel.sandboxes.map((s) => s.netns)).toEqual(['cni-7f3a']);
    expect(skipped).toEqual(['sandbox s2: namespace cni-7f3a already belongs to another sandbox']);
  });

  test('the pass asks the kernel about exactly the adopted namespaces and processes', () => {
    const sandboxes = [
      { ...sandbox, netnsPath: '/run/netns/cni-7f3a' },
      { id: 's2', name: 'job', netnsName: 'trsb-job', networkMode: '', sharesNetns: false, netnsPath: '/proc/4242/ns/net' },
      { id: 's3', name: 'own', netnsName: 'trsb-own', networkMode: '', sharesNetns: false, netnsPath: '' },
      { id: 's4', name: 'bad', netnsName: 'trsb-bad', networkMode: '', sharesNetns: false, netnsPath: '/proc/self/ns/net' },
    ];
    expect(adoptedNetnsQuery(view({ sandboxes }))).toEqual({ foreign: ['cni-7f3a'], attached: ['trsb-job'], pids: [4242] });
  });

  describe('network modes', () => {
    const sidecar = { ...sandbox, id: 's2', name: 'sidecar', sharesNetns: true };

    test('"host": the host namespace under the sandbox\'s name, with no interface and no way out of the agent\'s', () => {
      const result = desired(view({ sandboxes: [{ ...sandbox, networkMode: 'host' }] }), options);
      expect(result.kernel.sandboxes).toEqual([{ netns: 'trsb-web', origin: { kind: 'host' }, defaultRoute: undefined, egress: undefined }]);
      expect(result.kernel.endpoints).toEqual([]);
      expect(result.skippedEndpointIds).toEqual([local.id]);
      expect(result.skipped).toEqual([`endpoint ${local.id}: sandbox s1 is in network mode "host", which connects no network`]);
      expect(adoptedNetnsQuery(view({ sandboxes: [{ ...sandbox, networkMode: 'host' }] }))).toEqual({ foreign: [], attached: [], pids: [] });
    });

    test('"none": a namespace of its own with no interface and no egress', () => {
      const result = desired(view({ sandboxes: [{ ...sandbox, networkMode: 'none' }] }), options);
      expect(result.kernel.sandboxes).toEqual([{ netns: 'trsb-web', origin: { kind: 'created' }, defaultRoute: undefined, egress: undefined }]);
      expect(result.kernel.endpoints).toEqual([]);
      expect(result.kernel.gateway).toBeUndefined();
    });

    test("a shared namespace is one sandbox namespace; the endpoints of whichever sandbox connects are its interfaces", () => {
      for (const sandboxes of [[{ ...sandbox, sharesNetns: true }, sidecar], [sidecar, { ...sandbox, sharesNetns: true }]]) {
        const result = desired(view({ sandboxes }), options);
        expect(result.skipped).toEqual([]);
        expect(result.kernel.sandboxes.map((s) => [s.netns, s.egress?.hostName])).toEqual([['trsb-web', 'trgw-s1']]);
        expect(result.kernel.endpoints.map((e) => [e.netns, e.interfaceName])).toEqual([['trsb-web', 'eth0']]);
      }
    });

    test('two sandboxes naming one namespace without sharing it: the second is skipped, as before', () => {
      const result = desired(view({ sandboxes: [sandbox, { ...sandbox, id: 's2' }] }), options);
      expect(result.skipped).toEqual(['sandbox s2: namespace trsb-web already belongs to another sandbox']);
      expect(result.kernel.sandboxes.map((s) => s.netns)).toEqual(['trsb-web']);
    });
  });
});
