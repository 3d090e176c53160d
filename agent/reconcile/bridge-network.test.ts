import type { NetworkView } from '../../proto/gen/trellis/v1/dispatcher';
import { localBridgeName } from '../kernel';
import { localDefaultRoute } from './default-route';
import { DEFAULT_GATEWAY_SUBNET, desired } from './desired';
import { plan } from './plan';
import { EMPTY, OWNER, commands, link, programmed } from './plan-fixtures';
import { local, network, sampleView } from './test-fixtures';

/** Bridge networks (Docker's user-defined bridge): desired state, plan, and the default route they give. */

const lan: NetworkView = {
  id: 'b1cdefabcdef99', name: 'lan', driver: 'bridge', parent: '', mode: '', isolateSandboxes: false, vni: 0,
  subnet: '10.50.0.0/24', gateway: '10.50.0.1', mtu: 0, internal: false,
  subnets: [{ subnet: '10.50.0.0/24', gateway: '10.50.0.1' }, { subnet: '10.51.0.0/24', gateway: '10.51.0.1' }],
};
const BRIDGE = 'trlb-b1cdefabcd';
const onLan = {
  ...local, id: 'e5lanlanlanlan', networkId: lan.id, ip: '10.50.0.2', mac: '02:42:0a:32:00:02', interfaceName: 'eth1',
  publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }],
};
const options = { underlayDevice: 'uplink', underlayMtu: 1500, ownerTag: OWNER, gatewaySubnet: DEFAULT_GATEWAY_SUBNET, heldEgressAddresses: new Map<string, string>() };
const bridged = (parts: { network?: Partial<NetworkView>; endpoint?: Partial<typeof onLan>; overlay?: boolean } = {}) =>
  sampleView({
    networks: [{ ...lan, ...parts.network }, ...(parts.overlay ? [network] : [])],
    endpoints: [{ ...onLan, ...parts.endpoint }, ...(parts.overlay ? [local] : [])],
    overlaySubnets: [network.subnet],
  });
const want = (view = bridged()) => desired(view, options).kernel;

describe('a bridge network', () => {
  test("is a bridge in the host namespace holding every subnet's gateway, at the underlay MTU, and no network namespace", () => {
    const kernel = want();
    expect(localBridgeName(lan.id)).toBe(BRIDGE);
    expect(kernel.localBridges).toEqual([{
      name: BRIDGE, mtu: 1500, addresses: ['10.50.0.1/24', '10.51.0.1/24'], subnets: ['10.50.0.0/24', '10.51.0.0/24'], internal: false, isolated: false,
    }]);
    expect(kernel.networks).toEqual([]);
  });

  test('from an older manager (no subnet list), holds the one subnet and gateway; its own MTU wins', () => {
    const kernel = want(bridged({ network: { subnets: [], mtu: 1400 } }));
    expect(kernel.localBridges.map(({ addresses, mtu }) => ({ addresses, mtu }))).toEqual([{ addresses: ['10.50.0.1/24'], mtu: 1400 }]);
    expect(kernel.endpoints.map((endpoint) => endpoint.mtu)).toEqual([1400]);
  });

  test('a subnet whose gateway is outside it is skipped, and said so', () => {
    const { kernel, skipped } = desired(bridged({ network: { subnets: [...lan.subnets, { subnet: '10.52.0.0/24', gateway: '10.9.0.1' }] } }), options);
    expect(kernel.localBridges[0]?.addresses).toEqual(['10.50.0.1/24', '10.51.0.1/24']);
    expect(skipped).toEqual([expect.stringContaining('subnet "10.52.0.0/24" with gateway "10.9.0.1"')]);
  });

  test("an endpoint is a veth whose host end stays in the host namespace on the bridge, the sandbox's default route through the gateway", () => {
    const kernel = want();
    expect(kernel.endpoints).toEqual([{
      hostName: 'trve-e5lanlanla', networkNetns: undefined, bridge: BRIDGE, mtu: 1500, isolated: false, netns: 'trsb-web',
      interfaceName: 'eth1', mac: '02:42:0a:32:00:02', address: '10.50.0.2/24', arpRetransMs: 20,
      published: [{ protocol: 'tcp', hostPort: 8080, port: 80 }],
    }]);
    expect(kernel.sandboxes).toEqual([{ netns: 'trsb-web', origin: { kind: 'created' }, defaultRoute: { gateway: '10.50.0.1', device: 'eth1' }, egress: undefined }]);
    expect(kernel.gateway).toBeUndefined();
  });

  test("published ports DNAT to the endpoint's own address; the firewall masquerades and isolates the bridge", () => {
    const { firewall, isolatedSubnets } = want(bridged({ overlay: true }));
    expect(firewall?.published).toEqual([{ protocol: 'tcp', hostPort: 8080, port: 80, address: '10.50.0.2' }]);
    expect(firewall?.localBridges).toEqual([{ bridge: BRIDGE, subnets: ['10.50.0.0/24', '10.51.0.0/24'], internal: false, isolated: false }]);
    // A bridge network's subnet is not an overlay subnet: only overlay subnets are cut off.
    expect(isolatedSubnets).toEqual([network.subnet]);
  });

  test('with an overlay network too, the bridge gives the default route; gw0 comes (and takes the default route) only for published overlay ports', () => {
    expect(want(bridged({ overlay: true })).sandboxes.map(({ defaultRoute, egress }) => ({ defaultRoute, egress }))).toEqual([
      { defaultRoute: { gateway: '10.50.0.1', device: 'eth1' }, egress: undefined },
    ]);
    const publishing = sampleView({
      networks: [lan, network],
      endpoints: [onLan, { ...local, publishedPorts: [{ protocol: 'tcp', hostPort: 9090, port: 90 }] }],
    });
    const kernel = want(publishing);
    // Replies to the port published through gw0 must leave by gw0: the default route stays there.
    expect(kernel.sandboxes[0]?.defaultRoute).toEqual({ gateway: '172.29.0.1', device: 'gw0' });
    expect(kernel.sandboxes[0]?.egress?.published).toEqual([{ protocol: 'tcp', hostPort: 9090, port: 90 }]);
    expect(kernel.firewall?.published.map((port) => port.address).sort()).toEqual(['10.50.0.2', '172.29.0.2']);
  });

  test('icc=false isolates every port of the bridge', () => {
    const kernel = want(bridged({ network: { isolateSandboxes: true } }));
    expect(kernel.localBridges[0]?.isolated).toBe(true);
    expect(kernel.endpoints[0]?.isolated).toBe(true);
    expect(kernel.firewall?.localBridges[0]?.isolated).toBe(true);
  });

  test('an internal one gives no default route and publishes nothing; the sandbox still goes out by a non-internal overlay', () => {
    const { kernel, skipped } = desired(bridged({ network: { internal: true }, overlay: true }), options);
    expect(kernel.sandboxes[0]?.defaultRoute).toEqual({ gateway: '172.29.0.1', device: 'gw0' });
    expect(kernel.firewall?.published).toEqual([]);
    expect(skipped).toEqual([expect.stringContaining('published port 8080:80/tcp needs a non-internal network')]);
  });

  test("another node's endpoint on it is nothing to program", () => {
    const kernel = want(sampleView({ networks: [lan], endpoints: [onLan, { ...onLan, id: 'e6other', nodeId: 'B', ip: '10.50.0.3', mac: '02:42:0a:32:00:03' }] }));
    expect(kernel.endpoints.map((endpoint) => endpoint.hostName)).toEqual(['trve-e5lanlanla']);
  });
});

describe('localDefaultRoute', () => {
  const attach = (name: string, fields: Partial<NetworkView> = {}, interfaceName = `if-${name}`) => ({
    endpoint: { ...onLan, interfaceName },
    network: { ...lan, id: `id-${name}`, name, gateway: `gw-${name}`, ...fields },
  });

  test('is the gateway of the first non-internal local network by name, out of its interface', () => {
    expect(localDefaultRoute([attach('zeta'), attach('alpha', { internal: true }), attach('beta', { driver: 'macvlan' })])).toEqual({ gateway: 'gw-beta', device: 'if-beta' });
  });

  test('none from overlay or internal networks alone; ipvlan l3 routes by device', () => {
    expect(localDefaultRoute([attach('a', { driver: '' }), attach('b', { driver: 'overlay' }), attach('c', { internal: true })])).toBeUndefined();
    expect(localDefaultRoute([attach('l3', { driver: 'ipvlan', mode: 'l3' })])).toEqual({ gateway: '', device: 'if-l3' });
  });
});

describe('plan for a bridge network', () => {
  test('from nothing: the bridge with its gateways and the veth in the host namespace, an isolated port where icc=false', () => {
    const planned = commands(plan(want(bridged({ network: { isolateSandboxes: true } })), { ...programmed(EMPTY), sandboxes: [] }));
    expect(planned).toEqual(expect.arrayContaining([
      `ip link add name ${BRIDGE} up type bridge`,
      `ip addr add 10.50.0.1/24 dev ${BRIDGE}`,
      `ip addr add 10.51.0.1/24 dev ${BRIDGE}`,
      `ip link add name trve-e5lanlanla mtu 1500 master ${BRIDGE} up type veth peer name eth1 netns trsb-web address 02:42:0a:32:00:02 mtu 1500`,
      'ip link set dev trve-e5lanlanla type bridge_slave isolated on',
      'sysctl -w net.ipv4.ip_forward=1',
      'ip -n trsb-web route replace default via 10.50.0.1 dev eth1',
    ]));
    expect(planned.indexOf(`ip link add name ${BRIDGE} up type bridge`)).toBeLessThan(planned.findIndex((line) => line.startsWith('ip link add name trve-')));
  });

  test('a kernel that matches needs no writes: its host-namespace veth is no leftover', () => {
    expect(plan(want(), programmed(want()))).toEqual([]);
  });

  test('repairs by hand changes: an address gone, port isolation flipped, the bridge gone', () => {
    const kernel = want();
    const observed = programmed(kernel);
    const bridge = observed.hostLinks.find((link) => link.name === BRIDGE);
    const port = observed.hostLinks.find((link) => link.name === 'trve-e5lanlanla');
    if (bridge === undefined || port === undefined) throw new Error('fixture');
    bridge.addresses = ['10.50.0.1/24', '10.99.0.1/24'];
    port.isolated = true;
    expect(commands(plan(kernel, observed))).toEqual([
      `ip addr del 10.99.0.1/24 dev ${BRIDGE}`,
      `ip addr add 10.51.0.1/24 dev ${BRIDGE}`,
      'ip link set dev trve-e5lanlanla type bridge_slave isolated off',
    ]);
    const withoutBridge = { ...programmed(kernel), hostLinks: programmed(kernel).hostLinks.filter((link) => link.name !== BRIDGE) };
    const unmastered = withoutBridge.hostLinks.map((link) => (link.name === 'trve-e5lanlanla' ? { ...link, master: undefined } : link));
    expect(commands(plan(kernel, { ...withoutBridge, hostLinks: unmastered }))).toEqual([
      `ip link add name ${BRIDGE} up type bridge`,
      `ip addr add 10.50.0.1/24 dev ${BRIDGE}`,
      `ip addr add 10.51.0.1/24 dev ${BRIDGE}`,
      `ip link set dev trve-e5lanlanla master ${BRIDGE}`,
    ]);
  });

  test('removal deletes the bridge, the sandbox (its veth with it) and the firewall table', () => {
    const planned = commands(plan(EMPTY, programmed(want(), OWNER)));
    expect(planned).toEqual([
      `ip link del dev ${BRIDGE}`,
      'ip netns del trsb-web',
      'nft -f - << "table ip trellis\\ndelete table ip trellis\\n"',
    ]);
  });

  test('a bridge of ours no network wants is removed, as is a host-namespace veth of ours no endpoint wants', () => {
    const observed = programmed(want());
    const strays = [link('trlb-gone000000', { kind: 'bridge' }), link('trve-gone000000', { kind: 'veth', master: BRIDGE })];
    const planned = commands(plan(want(), { ...observed, hostLinks: [...observed.hostLinks, ...strays] }));
    expect(planned).toEqual(['ip link del dev trlb-gone000000', 'ip link del dev trve-gone000000']);
  });
});
