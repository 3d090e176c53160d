import type { NetworkView } from '../../proto/gen/trellis/v1/dispatcher';
import { desired, DEFAULT_GATEWAY_SUBNET } from './desired';
import { LanHost } from './desired-lan';
import { local, network, sampleView, sandbox } from './test-fixtures';

/** What desired() makes of macvlan and ipvlan networks: pure decisions, no kernel. */

const HOST: LanHost = { interfaces: new Set(['uplink', 'eth1']), linkKinds: new Set(['macvlan', 'ipvlan', 'vlan']) };

function lan(id: string, driver: 'macvlan' | 'ipvlan', fields: Partial<NetworkView> = {}): NetworkView {
  return {
    ...network, id, name: id, driver, vni: 0, parent: 'uplink', mode: '', subnet: '192.168.5.0/24', gateway: '192.168.5.1',
    subnets: [{ subnet: '192.168.5.0/24', gateway: '192.168.5.1' }], ...fields,
  };
}

function endpointOn(networkId: string, id: string, interfaceName: string, ip: string) {
  return { ...local, id, networkId, interfaceName, ip, mac: `02:42:c0:a8:05:${ip.split('.')[3]?.padStart(2, '0')}` };
}

function desiredOf(networks: NetworkView[], endpoints = networks.map((n, i) => endpointOn(n.id, `ep-${n.id}`, `eth${i}`, `192.168.5.${10 + i}`)), host = HOST) {
  return desired(sampleView({ networks, endpoints, overlaySubnets: [] }), {
    underlayDevice: 'uplink', underlayMtu: 1500, ownerTag: 'node-a', gatewaySubnet: DEFAULT_GATEWAY_SUBNET, heldEgressAddresses: new Map(), lanHost: host,
  });
}

test('a macvlan endpoint is a device on its parent in the sandbox, with its MAC and address, default mode bridge; it sets the default route and needs no gw0', () => {
  const result = desiredOf([lan('home', 'macvlan')]);
  expect(result.skipped).toEqual([]);
  expect(result.kernel.lanEndpoints).toEqual([{
    hostName: 'trmv-ep-home', kind: 'macvlan', mode: 'bridge', parent: 'uplink', netns: sandbox.netnsName,
    interfaceName: 'eth0', mac: '02:42:c0:a8:05:10', address: '192.168.5.10/24', mtu: undefined,
  }]);
  expect(result.kernel.sandboxes[0]).toMatchObject({ defaultRoute: { gateway: '192.168.5.1', device: 'eth0' }, egress: undefined });
  expect(result.kernel.gateway).toBeUndefined();
  expect(result.kernel.endpoints).toEqual([]);
});

test('an ipvlan endpoint takes no MAC of its own (it shares the parent\'s), default mode l2; l3 routes on-link out of its interface', () => {
  expect(desiredOf([lan('l2net', 'ipvlan')]).kernel.lanEndpoints[0]).toMatchObject({ kind: 'ipvlan', mode: 'l2', mac: undefined });
  const l3 = desiredOf([lan('l3net', 'ipvlan', { mode: 'l3' })]);
  expect(l3.kernel.lanEndpoints[0]).toMatchObject({ kind: 'ipvlan', mode: 'l3', mac: undefined });
  expect(l3.kernel.sandboxes[0]?.defaultRoute).toEqual({ gateway: '', device: 'eth0' });
});

test('the default route comes from the first non-internal local network by name; an internal one gives none', () => {
  const networks = [lan('zeta', 'macvlan', { gateway: '192.168.5.1' }), lan('alpha', 'macvlan', { parent: 'eth1', gateway: '192.168.6.1', subnet: '192.168.6.0/24' })];
  const endpoints = [endpointOn('zeta', 'ep-z', 'eth0', '192.168.5.10'), endpointOn('alpha', 'ep-a', 'eth1', '192.168.6.10')];
  expect(desiredOf(networks, endpoints).kernel.sandboxes[0]?.defaultRoute).toEqual({ gateway: '192.168.6.1', device: 'eth1' });
  expect(desiredOf([lan('inside', 'macvlan', { internal: true })]).kernel.sandboxes[0]?.defaultRoute).toBeUndefined();
});

test('with an overlay network too, the LAN gives the default route; gw0 comes (and takes the default route) only when an overlay endpoint publishes ports', () => {
  const endpoints = [{ ...local, interfaceName: 'eth1' }, endpointOn('home', 'ep-home', 'eth0', '192.168.5.10')];
  const plain = desiredOf([network, lan('home', 'macvlan')], endpoints);
  expect(plain.kernel.sandboxes[0]).toMatchObject({ defaultRoute: { gateway: '192.168.5.1', device: 'eth0' }, egress: undefined });
  const publishing = desiredOf([network, lan('home', 'macvlan')], [{ ...endpoints[0] as typeof local, publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }] }, endpoints[1] as typeof local]);
  // Replies to the port published through gw0 must leave by gw0: the default route stays there.
  expect(publishing.kernel.sandboxes[0]).toMatchObject({ defaultRoute: { gateway: '172.29.0.1', device: 'gw0' }, egress: { interfaceName: 'gw0' } });
  // The LAN's subnet is the physical LAN's: the gateway bridge is not cut off from it.
  expect(publishing.kernel.isolatedSubnets).toEqual([network.subnet]);
});

test('ports are not published on a LAN endpoint: skipped, saying so, the endpoint still programmed', () => {
  const endpoint = { ...endpointOn('home', 'ep-home', 'eth0', '192.168.5.10'), publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }] };
  const result = desiredOf([lan('home', 'macvlan')], [endpoint]);
  expect(result.skipped).toEqual(['endpoint ep-home: ports are not published on home, a LAN network: the sandbox answers at 192.168.5.10']);
  expect(result.kernel.lanEndpoints).toHaveLength(1);
  expect(result.kernel.firewall).toBeUndefined();
});

test.each([
  ['a mode the driver does not have', lan('odd', 'macvlan', { mode: 'l3' }), HOST, 'macvlan network odd: mode "l3" is not one of bridge, private'],
  ['a kernel without ipvlan', lan('ipv', 'ipvlan'), { ...HOST, linkKinds: new Set(['macvlan']) }, 'ipvlan network ipv: the kernel of this node cannot create ipvlan devices ("Unknown device type")'],
  ['a missing parent', lan('gone', 'macvlan', { parent: 'eth9' }), HOST, 'macvlan network gone: parent eth9 does not exist on this node'],
  ['a VLAN parent whose base is missing', lan('tagged', 'macvlan', { parent: 'eth9.42' }), HOST, 'macvlan network tagged: parent eth9.42: its base interface eth9 does not exist on this node'],
  ['a VLAN parent on a kernel without VLAN devices', lan('tagged', 'macvlan', { parent: 'uplink.42' }), { ...HOST, linkKinds: new Set(['macvlan']) },
    'macvlan network tagged: parent uplink.42 does not exist, and the kernel of this node cannot create VLAN devices ("Unknown device type")'],
])('%s: its endpoints are skipped with the reason and unprogrammed', (_, net, host, reason) => {
  const result = desiredOf([net], undefined, host);
  expect(result.skipped).toEqual([`endpoint ep-${net.id}: ${reason}`]);
  expect(result.skippedEndpointIds).toEqual([`ep-${net.id}`]);
  expect(result.kernel.lanEndpoints).toEqual([]);
  expect(result.kernel.vlans).toEqual([]);
});

test('a VLAN parent is wanted once per name while a network on it is in the view, endpoints or not', () => {
  const result = desiredOf([lan('a', 'macvlan', { parent: 'uplink.42' }), lan('b', 'macvlan', { parent: 'uplink.42', mode: 'private' })], []);
  expect(result.kernel.vlans).toEqual([{ name: 'uplink.42', base: 'uplink', id: 42 }]);
  expect(desiredOf([lan('c', 'macvlan', { parent: 'eth1' })], []).kernel.vlans).toEqual([]);
});

test('a parent takes one kind of device, and ipvlan ones in one mode: the first network by name keeps it', () => {
  const networks = [lan('b-ipvlan', 'ipvlan'), lan('a-macvlan', 'macvlan'), lan('c-private', 'macvlan', { mode: 'private' })];
  const endpoints = networks.map((n, i) => endpointOn(n.id, `ep-${n.id}`, `eth${i}`, `192.168.5.${10 + i}`));
  const result = desiredOf(networks, endpoints);
  expect(result.skipped).toEqual([
    'endpoint ep-b-ipvlan: ipvlan network b-ipvlan: parent uplink already carries the macvlan network a-macvlan; a parent takes macvlan or ipvlan devices, not both, and ipvlan ones in one mode',
  ]);
  expect(result.kernel.lanEndpoints.map((endpoint) => `${endpoint.kind} ${endpoint.mode}`)).toEqual(['macvlan bridge', 'macvlan private']);

  const modes = desiredOf([lan('x', 'ipvlan', { mode: 'l3' }), lan('w', 'ipvlan', { mode: 'l2' })]);
  expect(modes.skipped).toEqual([expect.stringContaining('ipvlan network x: parent uplink already carries the ipvlan l2 network w')]);
});
