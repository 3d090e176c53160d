import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { desired } from './desired';
import { adoptedNetnsQuery } from './sandbox-placement';
import { local, network, remote, sampleView, sandbox } from './test-fixtures';

const back = { id: 'n2', name: 'back', vni: 200, subnet: '10.231.2.0/24', gateway: '10.231.2.1', mtu: 0, internal: false };
// Upper-case MAC in the view: the kernel's spelling is lower case.
const view = (parts: Partial<NodeView> = {}) =>
  sampleView({ endpoints: [{ ...local, mac: '02:42:0A:E7:01:02' }, remote], ...parts });
const options = { underlayDevice: 'uplink', underlayMtu: 9000, ownerTag: 'me' };
const adopting = (netnsPath: string, netnsName = sandbox.netnsName) => view({ sandboxes: [{ ...sandbox, netnsName, netnsPath }] });

describe('desired', () => {
  test('a network becomes a bridge and a learning-free proxy VXLAN device at underlay MTU - 50', () => {
    const { kernel } = desired(view(), options);
    expect(kernel.bridges).toEqual([{ name: 'trbr-100', mtu: 8950 }]);
    expect(kernel.vxlans).toEqual([{
      name: 'trvx-100', vni: 100, local: '198.18.0.1', port: 4789, underlayDevice: 'uplink',
      learning: false, proxy: true, mtu: 8950, bridge: 'trbr-100',
    }]);
  });

  test("a network's own MTU wins over underlay MTU - 50 for its bridge, VXLAN device and veths", () => {
    const { kernel } = desired(view({ networks: [{ ...network, mtu: 1400 }] }), options);
    expect(kernel.bridges).toEqual([{ name: 'trbr-100', mtu: 1400 }]);
    expect(kernel.vxlans.map((vxlan) => vxlan.mtu)).toEqual([1400]);
    expect(kernel.endpoints.map((endpoint) => endpoint.mtu)).toEqual([1400]);
  });

  test('the local address option overrides the advertise address', () => {
    expect(desired(view(), { ...options, localAddress: '198.18.5.5' }).kernel.vxlans[0]?.local).toBe('198.18.5.5');
  });

  test('a local endpoint becomes a veth pair into its sandbox, a remote one an FDB and a neighbour entry', () => {
    const { kernel, skipped } = desired(view(), options);
    expect(skipped).toEqual([]);
    expect(kernel.endpoints).toEqual([{
      hostName: 'trve-e1aaaaaaaa', bridge: 'trbr-100', mtu: 8950, netns: 'trsb-web',
      interfaceName: 'eth0', mac: '02:42:0a:e7:01:02', address: '10.231.1.2/24', arpRetransMs: 20,
    }]);
    expect(kernel.fdb).toEqual([{ device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.2' }]);
    expect(kernel.neighbours).toEqual([{ device: 'trvx-100', ip: '10.231.1.3', mac: '02:42:0a:e7:01:03' }]);
    expect(kernel.ownerTag).toBe('me');
  });

  test("the sandbox's default route goes through its first interface by name", () => {
    const eth10 = { ...local, id: 'e10', networkId: 'n2', ip: '10.231.2.2', mac: '02:42:0a:e7:02:02', interfaceName: 'eth10' };
    const eth2 = { ...local, interfaceName: 'eth2' };
    const { kernel } = desired(view({ networks: [network, back], endpoints: [eth10, eth2] }), options);
    expect(kernel.sandboxes).toEqual([
      { netns: 'trsb-web', origin: { kind: 'created' }, defaultRoute: { gateway: '10.231.1.1', device: 'eth2' } },
    ]);
  });

  test('a sandbox without endpoints still exists, without a route', () => {
    expect(desired(view({ endpoints: [] }), options).kernel.sandboxes).toEqual([
      { netns: 'trsb-web', origin: { kind: 'created' }, defaultRoute: undefined },
    ]);
  });

  test('endpoints of networks not in the view are ignored', () => {
    const { kernel, skipped } = desired(view({ endpoints: [{ ...remote, networkId: 'elsewhere' }] }), options);
    expect(kernel.fdb).toEqual([]);
    expect(skipped).toEqual([]);
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
    ['an adopted name of our own', adopting('/run/netns/trsb-other'), /not starting with trsb-/],
    ['an adopted name that reads as an option', adopting('/run/netns/-force'), /plain namespace/],
    ['an adopted process 0', adopting('/proc/0/ns/net'), /neither/],
    ['a pid above the kernel limit', adopting('/proc/4194305/ns/net'), /neither/],
    ['a process adopted under a foreign name', adopting('/proc/42/ns/net', 'web'), /netns name "web"/],
  ])('skips %s and says why, programming the rest', (_what, nodeView, reason) => {
    const { kernel, skipped } = desired(nodeView, options);
    expect(skipped[0]).toMatch(reason);
    expect(kernel.bridges.length + kernel.endpoints.length + kernel.fdb.length).toBeGreaterThan(0);
  });
});

test('a local address that is not IPv4 is left out rather than written into a command', () => {
  const { kernel, skipped } = desired(view({ advertiseAddr: 'a b' }), options);
  expect(kernel.vxlans[0]?.local).toBe('');
  expect(skipped[0]).toMatch(/local address/);
});

describe('desired, for adopted namespaces', () => {
  test('a /run/netns/NAME path is used under that name and marked as made by someone else', () => {
    const { kernel, skipped } = desired(adopting('/run/netns/cni-7f3a'), options);
    expect(skipped).toEqual([]);
    expect(kernel.sandboxes).toEqual([
      { netns: 'cni-7f3a', origin: { kind: 'named' }, defaultRoute: { gateway: '10.231.1.1', device: 'eth0' } },
    ]);
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
      { id: 's2', name: 'other', netnsName: 'trsb-other', netnsPath: '/run/netns/cni-7f3a' },
    ];
    const { kernel, skipped } = desired(view({ sandboxes: twice }), options);
    expect(kernel.sandboxes.map((s) => s.netns)).toEqual(['cni-7f3a']);
    expect(skipped).toEqual(['sandbox s2: namespace cni-7f3a already belongs to another sandbox']);
  });

  test('the pass asks the kernel about exactly the adopted namespaces and processes', () => {
    const sandboxes = [
      { ...sandbox, netnsPath: '/run/netns/cni-7f3a' },
      { id: 's2', name: 'job', netnsName: 'trsb-job', netnsPath: '/proc/4242/ns/net' },
      { id: 's3', name: 'own', netnsName: 'trsb-own', netnsPath: '' },
      { id: 's4', name: 'bad', netnsName: 'trsb-bad', netnsPath: '/proc/self/ns/net' },
    ];
    expect(adoptedNetnsQuery(view({ sandboxes }))).toEqual({ foreign: ['cni-7f3a'], attached: ['trsb-job'], pids: [4242] });
  });
});
