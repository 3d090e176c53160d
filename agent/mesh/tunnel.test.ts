import type { ObservedLink } from '../kernel';
import type { DesiredMesh } from './model';
import { MESH_DEVICE, MESH_DEVICE_ADDRESS, MESH_VNI, meshMac } from './names';
import { planTunnel, type ObservedTunnel } from './tunnel';

const LOCAL = '198.18.0.11';
const PEER = { address: '198.18.0.12', mac: meshMac('198.18.0.12') };

const wanted = (peers = [PEER]): DesiredMesh => ({
  underlayDevice: 'eth0', localAddress: LOCAL, hostDnat: [], tunnelDnat: [], forwarded: [], tunnel: { peers },
});

const VXLAN = { vni: MESH_VNI, local: LOCAL, port: 4789, underlayDevice: 'eth0', learning: false, proxy: false };

const link = (vxlan = VXLAN): ObservedLink => ({
  name: MESH_DEVICE, kind: 'vxlan', ifindex: 9, peerIfindex: undefined, mtu: 1450, up: true, mac: meshMac(LOCAL), master: undefined,
  isolated: undefined, alias: undefined,
  vxlan,
  mode: undefined,
  addresses: [],
  arpRetransMs: undefined,
});

const converged = (): ObservedTunnel => ({
  link: link(),
  addresses: [MESH_DEVICE_ADDRESS],
  rpFilter: 2,
  fdb: [{ device: MESH_DEVICE, mac: PEER.mac, dst: PEER.address, permanent: true }],
  neighbours: [{ device: MESH_DEVICE, ip: PEER.address, mac: PEER.mac, permanent: true }],
});

describe('planTunnel', () => {
  it('does nothing on a device in line', () => {
    expect(planTunnel(wanted(), converged())).toEqual([]);
  });

  it('makes the device with its MAC, address, loose reverse-path filter and a static entry per peer', () => {
    const commands = planTunnel(wanted(), { link: undefined, addresses: [], rpFilter: undefined, fdb: [], neighbours: [] }).map((argv) => argv.join(' '));
    expect(commands).toEqual([
      `ip link add ${MESH_DEVICE} type vxlan id ${MESH_VNI} local ${LOCAL} dstport 4789 dev eth0 nolearning`,
      `ip link set dev ${MESH_DEVICE} address ${meshMac(LOCAL)} up`,
      `ip addr replace ${MESH_DEVICE_ADDRESS} dev ${MESH_DEVICE} noprefixroute`,
      `sysctl -q -w net.ipv4.conf.${MESH_DEVICE}.rp_filter=2`,
      `bridge fdb append ${PEER.mac} dev ${MESH_DEVICE} dst ${PEER.address} self permanent`,
      `ip neigh replace ${PEER.address} lladdr ${PEER.mac} dev ${MESH_DEVICE} nud permanent`,
    ]);
  });

  it('makes a device of another VNI again, and repairs drift in place', () => {
    expect(planTunnel(wanted(), { ...converged(), link: link({ ...VXLAN, vni: 7 }) })[0]).toEqual(['ip', 'link', 'del', 'dev', MESH_DEVICE]);
    const drifted = { ...converged(), rpFilter: 1, fdb: [{ device: MESH_DEVICE, mac: PEER.mac, dst: '198.18.0.99', permanent: true }] };
    expect(planTunnel(wanted(), drifted).map((argv) => argv.join(' '))).toEqual([
      `sysctl -q -w net.ipv4.conf.${MESH_DEVICE}.rp_filter=2`,
      `bridge fdb del ${PEER.mac} dev ${MESH_DEVICE} dst 198.18.0.99`,
      `bridge fdb append ${PEER.mac} dev ${MESH_DEVICE} dst ${PEER.address} self permanent`,
    ]);
  });

  it('drops entries of nodes that no longer host a backend, and the device when nothing needs it', () => {
    expect(planTunnel(wanted([]), converged()).map((argv) => argv[0] + ' ' + argv[1] + ' ' + argv[2])).toEqual(['bridge fdb del', 'ip neigh del']);
    expect(planTunnel({ ...wanted(), tunnel: undefined }, converged())).toEqual([['ip', 'link', 'del', 'dev', MESH_DEVICE]]);
  });
});
