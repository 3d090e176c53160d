/** A port this node answers on, DNATed to local backends' gateway-bridge addresses (spread with numgen). */
export interface LocalDnat {
  protocol: 'tcp' | 'udp';
  port: number;
  targetPort: number;
  /** gw0 addresses of the ready local backends, sorted. */
  backends: string[];
}

/** An ingress port this node has no backend for: its packets go on unchanged to a node that has one. */
export interface ForwardedPort {
  protocol: 'tcp' | 'udp';
  port: number;
  /** Underlay addresses of backend nodes, one slot per ready backend there: the flow hash picks a slot. */
  slots: string[];
}

/** Another node reached over the mesh tunnel: its underlay address and the tunnel MAC derived from it. */
export interface MeshPeer {
  address: string;
  mac: string;
}

/** Everything of the routing mesh and of `mode=host` publishing this node must hold. */
export interface DesiredMesh {
  underlayDevice: string;
  /** This node's underlay address: where its published ports answer. */
  localAddress: string;
  /** Ports of this node's own address with a local backend (host mode, and ingress where a backend runs here). */
  hostDnat: LocalDnat[];
  /** Ingress ports as they arrive from other nodes over the tunnel (destination: the receiving node's address). */
  tunnelDnat: LocalDnat[];
  forwarded: ForwardedPort[];
  /** undefined: no tunnel device wanted here. */
  tunnel: { peers: MeshPeer[] } | undefined;
}
