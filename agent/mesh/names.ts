import { ipv4Number } from '../firewall/address-match';

/** The host-namespace VXLAN device that carries ingress packets unchanged from node to node. */
export const MESH_DEVICE = 'trellis_in';
/**
 * The mesh tunnel's VNI: below the managers' network range (4096 and up), so no network can take it.
 * It shares the VXLAN port with the networks' devices, demultiplexed by VNI.
 */
export const MESH_VNI = 4095;
/** Both nft tables of the mesh (families ip and netdev) carry this name; the agent owns them whole. */
export const MESH_TABLE = 'trellis_mesh';
/**
 * The tunnel device's own address. Loose reverse-path filtering, which the clients' addresses
 * arriving on the tunnel need, still drops everything on a device without an IPv4 address; this
 * host-scoped link-local address is never on the wire.
 */
export const MESH_DEVICE_ADDRESS = '169.254.47.89/32';

/** A node's tunnel MAC, from its underlay address: locally administered, the same on every node that computes it. */
export function meshMac(address: string): string {
  const value = ipv4Number(address);
  const bytes = [0x02, 0x74, value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}
