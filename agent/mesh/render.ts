import { layOut } from '../firewall/listing';
import type { DesiredMesh, ForwardedPort, LocalDnat } from './model';
import { MESH_DEVICE, MESH_TABLE } from './names';

/*
 * The mesh's two nft tables, exactly as `nft list table` prints them once normalized, so a
 * converged host compares equal. undefined: the table is not wanted.
 */

const MESH_DEVICE_NAME = JSON.stringify(MESH_DEVICE);

/** `numgen` over a map even for one backend: one rule shape, and a backend change is the map's. */
function dnatTo(port: LocalDnat): string {
  const elements = port.backends.map((address, slot) => `${slot} : ${address} . ${port.targetPort}`);
  return `dnat ip to numgen random mod ${port.backends.length} map { ${elements.join(', ')} }`;
}

/**
 * The nat side (family ip): DNAT to local backends for this node's own address, and for ingress
 * packets other nodes pass on over the tunnel; in forward, whatever came over the tunnel and was
 * not DNATed is dropped, so a packet for a backend that just left is never routed back out.
 */
export function renderNatTable(mesh: DesiredMesh): string | undefined {
  if (mesh.hostDnat.length === 0 && mesh.tunnelDnat.length === 0) return undefined;
  return layOut([
    `table ip ${MESH_TABLE} {`,
    'chain prerouting {',
    // Before the host table's own published ports (priority dstnat): a service's port wins.
    'type nat hook prerouting priority dstnat - 1; policy accept;',
    ...mesh.hostDnat.map((port) => `fib daddr type local ${port.protocol} dport ${port.port} ${dnatTo(port)}`),
    ...mesh.tunnelDnat.map((port) => `iifname ${MESH_DEVICE_NAME} ${port.protocol} dport ${port.port} ${dnatTo(port)}`),
    '}',
    'chain forward {',
    'type filter hook forward priority filter; policy accept;',
    `iifname ${MESH_DEVICE_NAME} ct status dnat accept`,
    `iifname ${MESH_DEVICE_NAME} drop`,
    '}',
    '}',
  ]);
}

/**
 * The forwarding side (family netdev, on the underlay device's ingress): before conntrack and
 * routing, so this node neither tracks nor rewrites what it passes on; `fwd` sends the packet as
 * it is over the tunnel to the node its flow hashes to.
 */
export function renderForwardTable(mesh: DesiredMesh): string | undefined {
  if (mesh.forwarded.length === 0) return undefined;
  const forward = (port: ForwardedPort): string => {
    const slots = port.slots.map((address, slot) => `${slot} : ${address}`).join(', ');
    const hash = `jhash ip saddr . ${port.protocol} sport mod ${port.slots.length}`;
    return `ip daddr ${mesh.localAddress} ${port.protocol} dport ${port.port} fwd ip to ${hash} map { ${slots} } device ${MESH_DEVICE_NAME}`;
  };
  return layOut([
    `table netdev ${MESH_TABLE} {`,
    'chain ingress {',
    `type filter hook ingress device ${JSON.stringify(mesh.underlayDevice)} priority filter; policy accept;`,
    ...mesh.forwarded.map(forward),
    '}',
    '}',
  ]);
}

export type MeshFamily = 'ip' | 'netdev';

/** `nft -f -` input that makes the table exactly `text`, or deletes it (undefined), atomically; valid whether or not it exists. */
export function tableScript(family: MeshFamily, text: string | undefined): string {
  return `table ${family} ${MESH_TABLE}\ndelete table ${family} ${MESH_TABLE}\n${text ?? ''}`;
}
