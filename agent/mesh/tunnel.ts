import type { FdbEntry, NeighbourEntry, ObservedLink } from '../kernel';
import { VXLAN_PORT } from '../../proto/runtime/reserved';
import type { DesiredMesh } from './model';
import { MESH_DEVICE, MESH_DEVICE_ADDRESS, MESH_VNI, meshMac } from './names';

/** The mesh tunnel device as read back from the host namespace. */
export interface ObservedTunnel {
  link: ObservedLink | undefined;
  addresses: string[];
  rpFilter: number | undefined;
  fdb: FdbEntry[];
  neighbours: NeighbourEntry[];
}

/** Loose: a client's address arriving on the tunnel is routed out of the underlay, not back into the tunnel. */
const LOOSE_RP_FILTER = 2;
const RP_FILTER_KEY = `net.ipv4.conf.${MESH_DEVICE}.rp_filter`;

/**
 * The commands (argv) that bring the tunnel device in line, in order; none when it already is.
 * A device made otherwise (another VNI, address or underlay) is made again.
 */
export function planTunnel(mesh: DesiredMesh, observed: ObservedTunnel): string[][] {
  const link = observed.link;
  if (mesh.tunnel === undefined) return link === undefined ? [] : [['ip', 'link', 'del', 'dev', MESH_DEVICE]];
  const mac = meshMac(mesh.localAddress);
  const sameDevice =
    link !== undefined &&
    link.kind === 'vxlan' &&
    link.vxlan?.vni === MESH_VNI &&
    link.vxlan.local === mesh.localAddress &&
    link.vxlan.port === VXLAN_PORT &&
    link.vxlan.underlayDevice === mesh.underlayDevice &&
    !link.vxlan.learning;
  const commands: string[][] = [];
  const fresh = !sameDevice;
  if (fresh) {
    if (link !== undefined) commands.push(['ip', 'link', 'del', 'dev', MESH_DEVICE]);
    commands.push([
      'ip', 'link', 'add', MESH_DEVICE, 'type', 'vxlan', 'id', String(MESH_VNI), 'local', mesh.localAddress,
      'dstport', String(VXLAN_PORT), 'dev', mesh.underlayDevice, 'nolearning',
    ]);
  }
  if (fresh || link?.mac !== mac || !link.up) commands.push(['ip', 'link', 'set', 'dev', MESH_DEVICE, 'address', mac, 'up']);
  if (fresh || !observed.addresses.includes(MESH_DEVICE_ADDRESS)) {
    commands.push(['ip', 'addr', 'replace', MESH_DEVICE_ADDRESS, 'dev', MESH_DEVICE, 'noprefixroute']);
  }
  if (fresh || observed.rpFilter !== LOOSE_RP_FILTER) commands.push(['sysctl', '-q', '-w', `${RP_FILTER_KEY}=${LOOSE_RP_FILTER}`]);
  const fdb = fresh ? [] : observed.fdb;
  const neighbours = fresh ? [] : observed.neighbours;
  const wanted = new Map(mesh.tunnel.peers.map((peer) => [peer.mac, peer.address]));
  for (const entry of fdb) {
    if (wanted.get(entry.mac) !== entry.dst || !entry.permanent) commands.push(['bridge', 'fdb', 'del', entry.mac, 'dev', MESH_DEVICE, 'dst', entry.dst]);
  }
  for (const peer of mesh.tunnel.peers) {
    if (!fdb.some((entry) => entry.mac === peer.mac && entry.dst === peer.address && entry.permanent)) {
      commands.push(['bridge', 'fdb', 'append', peer.mac, 'dev', MESH_DEVICE, 'dst', peer.address, 'self', 'permanent']);
    }
  }
  const wantedNeighbours = new Map(mesh.tunnel.peers.map((peer) => [peer.address, peer.mac]));
  for (const entry of neighbours) {
    if (!wantedNeighbours.has(entry.ip)) commands.push(['ip', 'neigh', 'del', entry.ip, 'dev', MESH_DEVICE]);
  }
  for (const peer of mesh.tunnel.peers) {
    if (!neighbours.some((entry) => entry.ip === peer.address && entry.mac === peer.mac && entry.permanent)) {
      commands.push(['ip', 'neigh', 'replace', peer.address, 'lladdr', peer.mac, 'dev', MESH_DEVICE, 'nud', 'permanent']);
    }
  }
  return commands;
}
