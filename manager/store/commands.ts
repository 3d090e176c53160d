import type { Endpoint, Network, Node, Sandbox, Service } from '../../proto/gen/trellis/v1/types';
import type { Result } from './errors';
import type { AddressPoolRecord, ClusterSecurityRecord, IssuedCertificateRecord, JoinRole, RevokedNodeRecord } from './state';

/*
 * Commands carry every id and choice the store cannot make itself, so applying
 * the same commands in the same order gives the same state on every replica.
 * They are plain JSON: the log stores them as they are.
 * References to existing objects (`network`, `sandbox`, `node`, `service`) take a name or an id.
 */

/** One subnet of a new network. */
export interface IpamRequest {
  subnet: string;
  /** Absent or '' means the first usable address of the subnet. */
  gateway?: string;
  /** Absent or '' means the whole subnet. */
  ipRange?: string;
  /** name → address inside the subnet, never handed out. */
  auxAddresses?: Record<string, string>;
}

/**
 * The subnets come either from subnet/gateway/ip_range (the simple form) or from
 * ipam (several subnets); with neither, from the cluster's default address pools.
 */
export interface CreateNetwork {
  type: 'createNetwork';
  id: string;
  name: string;
  /** '' means overlay. */
  driver: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  ipam?: IpamRequest[];
  internal?: boolean;
  attachable?: boolean;
  /** Absent or 0 means the agent's default. */
  mtu?: number;
  labels?: Record<string, string>;
  /** Absent or 0 means the lowest free VNI. Overlay only. */
  vni?: number;
  /** The node (name or id) a bridge, macvlan or ipvlan network lives on; required for those, refused for overlay. */
  node?: string;
  /** macvlan / ipvlan: the node's interface their sandboxes' interfaces hang off ("eth0", or "eth0.42" for an 802.1q one the agent makes). */
  parent?: string;
  /** Docker's `-o KEY=VALUE`: icc (bridge), macvlan_mode, ipvlan_mode. */
  options?: Record<string, string>;
}

export interface RemoveNetwork {
  type: 'removeNetwork';
  network: string;
}

/** Registering a name that exists updates its address, gateway subnet and reserved ports, and keeps its id. */
export interface RegisterNode {
  type: 'registerNode';
  id: string;
  name: string;
  advertiseAddr: string;
  /** The agent's gateway bridge subnet (CIDR). Absent or '' means not reported (agents from before it). */
  gatewaySubnet?: string;
  /** Ports of the node no sandbox may publish. Absent means none. */
  reservedPorts?: readonly ReservedPortRequest[];
  /** The host namespace's interfaces, link kinds the kernel can make, and net.ipv4.ip_local_port_range. Absent (older agents): not reported. */
  interfaces?: readonly HostInterfaceRequest[];
  linkKinds?: readonly string[];
  /** Both absent or 0: not reported (publish-all then uses 32768-60999). */
  ephemeralPortFirst?: number;
  ephemeralPortLast?: number;
}

export interface HostInterfaceRequest {
  name: string;
  /** Absent or '' for a physical device. */
  kind?: string;
  /** IPv4 "a.b.c.d/len". */
  addresses?: readonly string[];
}

export interface ReservedPortRequest {
  /** Absent or '' means tcp. */
  protocol?: string;
  port: number;
  /** What uses the port, for refusals. Absent or '' means "given with --reserved-ports". */
  reason?: string;
}

export interface CreateSandbox {
  type: 'createSandbox';
  id: string;
  name: string;
  node: string;
  /** An existing namespace to adopt: "/run/netns/NAME" or "/proc/PID/ns/net". Absent or '' means the agent creates one. */
  netns?: string;
  /** Absent or '' means a namespace of its own; "none" (loopback only) or "host" (the node's own namespace). */
  networkMode?: string;
  /** A sandbox (name or id) on the same node whose namespace the new one shares (Docker's --network container:OTHER). */
  netnsFrom?: string;
}

/**
 * Also disconnects the sandbox from every network. With `at`, its endpoints that are backends of a
 * service with a drain timeout drain first (like `disconnect`), and the sandbox is marked removing
 * and goes with the last of them.
 */
export interface RemoveSandbox {
  type: 'removeSandbox';
  sandbox: string;
  /** The proposer's clock, ms since the epoch, that drains end after. Absent (log entries from before drain) removes at once. */
  at?: number;
}

export interface Connect {
  type: 'connect';
  endpointId: string;
  network: string;
  sandbox: string;
  /** Absent or '' means the lowest free address of the ip_range (or subnet). */
  ip?: string;
  aliases: readonly string[];
  /** Absent or '' means 02:42 followed by the address, like Docker. */
  mac?: string;
  /** Absent or '' means the sandbox's name. */
  hostname?: string;
  /** "name:ip" entries. */
  extraHosts?: readonly string[];
  dns?: readonly string[];
  /** A service (name or id) on this network that the endpoint becomes a backend of. */
  service?: string;
  /** Ports of the sandbox's node to forward to the endpoint. Absent (so in log entries from before publishing) means none. */
  publishedPorts?: readonly PublishedPortRequest[];
  /** `-P`: each exposed port not in publishedPorts gets a free host port of the node's ephemeral range, chosen in apply. */
  publishAll?: boolean;
  exposedPorts?: readonly ExposedPortRequest[];
  /**
   * Ports publish_all must not choose on any node that the replicated state does not know: the
   * managers' own, which the proposer knows (manager/api/manager-ports.ts). Absent means none.
   */
  avoidHostPorts?: readonly ExposedPortRequest[];
}

/** `--expose PORT[/PROTOCOL]`. */
export interface ExposedPortRequest {
  /** Absent or '' means tcp. */
  protocol?: string;
  port: number;
}

/** Like `docker run -p HOST:CONTAINER/PROTOCOL`. */
export interface PublishedPortRequest {
  /** Absent or '' means tcp. */
  protocol?: string;
  hostPort: number;
  port: number;
}

/**
 * A service backend (of a service with a drain timeout) drains rather than goes: it takes no new flows
 * and is removed when the drain ends (finishDrain). A draining one disconnected again stays as it is.
 */
export interface Disconnect {
  type: 'disconnect';
  network: string;
  sandbox: string;
  /** Removes at once, draining or not. */
  force?: boolean;
  /** The proposer's clock, ms since the epoch, that the drain ends after. Absent (log entries from before drain) removes at once. */
  at?: number;
}

/** Proposed by the leader: removes the endpoints whose drain ended by `at` (a draining sandbox's last one takes the sandbox along). */
export interface FinishDrain {
  type: 'finishDrain';
  endpointIds: readonly string[];
  /** The leader's clock, ms since the epoch; endpoints still draining then are left alone. */
  at: number;
}

export interface UpdateNode {
  type: 'updateNode';
  node: string;
  /** Absent or '' leaves it unchanged; else "active" or "drain". */
  availability?: string;
  labelAdd?: Record<string, string>;
  labelRm?: readonly string[];
}

/**
 * Proposed by the leader when a node's session hello carries another gossip key than the one
 * stored: from then on the views of the node and of its fellow members follow (NodeView.members).
 */
export interface SetNodeGossipKey {
  type: 'setNodeGossipKey';
  /** The node's id (sessions know their node by id). */
  nodeId: string;
  /** 32 bytes as 64 lowercase hex characters; '' clears it: the node no longer gossips. */
  publicKey: string;
}

/** Liveness is not the store's: the API checks that the node is down (or forced) before proposing this. */
export interface RemoveNode {
  type: 'removeNode';
  node: string;
  /** Revokes the node's certificates in the same step. Absent (so in log entries from before revocation) revokes nothing. */
  revoke?: Revocation;
}

/** Times the proposer chose (apply has no clock), in milliseconds since the epoch. */
export interface Revocation {
  /** Why, as refused callers are told. */
  reason: string;
  /** Now, on the proposer; entries whose `until` has passed by then are dropped. */
  at: number;
  /** The latest expiry of a certificate the node may hold. */
  until: number;
}

/** Revokes the certificates of a node that has no node record (a removed manager). */
export interface RevokeNode extends Revocation {
  type: 'revokeNode';
  nodeId: string;
}

export interface PortRequest {
  /** Absent or '' means tcp. */
  protocol?: string;
  targetPort: number;
  /** Absent or 0 means the target port. */
  publishedPort?: number;
  /** Absent or '' means ingress. */
  publishMode?: string;
}

export interface CreateService {
  type: 'createService';
  id: string;
  name: string;
  networks: readonly string[];
  /** Absent or '' means vip. */
  endpointMode?: string;
  ports?: readonly PortRequest[];
  labels?: Record<string, string>;
  /** Absent means the default (SERVICE_DEFAULTS), here and in the idle timeouts. */
  drainTimeoutSeconds?: number;
  tcpIdleTimeoutSeconds?: number;
  udpIdleTimeoutSeconds?: number;
}

/** The VIPs and backends stay; what is absent stays as it is. */
export interface UpdateService {
  type: 'updateService';
  service: string;
  /** Published like createService's ports, after publishRm is taken away. */
  publishAdd?: readonly PortRequest[];
  /** Matched by protocol and published port (absent or 0: the target port), and by mode when one is given. */
  publishRm?: readonly PortRequest[];
  drainTimeoutSeconds?: number;
  tcpIdleTimeoutSeconds?: number;
  udpIdleTimeoutSeconds?: number;
}

export interface RemoveService {
  type: 'removeService';
  service: string;
}

/** Applied at cluster bootstrap; later networks without a subnet get theirs from these pools. */
export interface SetDefaultAddressPools {
  type: 'setDefaultAddressPools';
  pools: readonly AddressPoolRecord[];
}

/** Set once, when the cluster is created: its CA and join secrets, sealed. */
export interface InitSecurity {
  type: 'initSecurity';
  security: ClusterSecurityRecord;
}

/** Replaces one role's join secret: tokens made with the old one stop working. */
export interface RotateJoinSecret {
  type: 'rotateJoinSecret';
  role: JoinRole;
  /** The new secret, chosen and sealed under the data key by the proposer (randomness and keys stay out of apply). */
  sealedSecret: string;
}

/** Turns autolock on (with this unlock key, sealed under the data key, by the proposer) or off (absent). */
export interface SetAutolock {
  type: 'setAutolock';
  unlockKeySealed?: string;
}

/** Records a certificate the CA just issued, before it is handed out. */
export interface RecordCertificate {
  type: 'recordCertificate';
  certificate: IssuedCertificateRecord;
}

/** Starts a root rotation: the new root signs from now on; the old one stays trusted until finishRootRotation. */
export interface RotateRootCa {
  type: 'rotateRootCa';
  caCertPem: string;
  /** The new root's private key, sealed under the data key by the proposer, like initSecurity's. */
  caKeySealed: string;
  /** The new root cross-signed by the old key (made by the proposer, who holds both). */
  crossSignedCaPem: string;
}

/** Ends the rotation to `caCertPem` (a stale one, to another root, is refused): the old root is trusted no more. */
export interface FinishRootRotation {
  type: 'finishRootRotation';
  caCertPem: string;
}

export type Command =
  | InitSecurity
  | RotateJoinSecret
  | RotateRootCa
  | FinishRootRotation
  | SetAutolock
  | CreateNetwork
  | RemoveNetwork
  | RegisterNode
  | UpdateNode
  | SetNodeGossipKey
  | RemoveNode
  | RevokeNode
  | RecordCertificate
  | CreateSandbox
  | RemoveSandbox
  | Connect
  | Disconnect
  | FinishDrain
  | CreateService
  | UpdateService
  | RemoveService
  | SetDefaultAddressPools;

/** What each command returns on success; removals return the object as it was just before. */
export interface CommandValues {
  initSecurity: Record<string, never>;
  rotateJoinSecret: Record<string, never>;
  rotateRootCa: Record<string, never>;
  finishRootRotation: Record<string, never>;
  setAutolock: Record<string, never>;
  createNetwork: Network;
  removeNetwork: Network;
  registerNode: Node;
  updateNode: Node;
  setNodeGossipKey: Node;
  removeNode: Node;
  revokeNode: RevokedNodeRecord;
  recordCertificate: IssuedCertificateRecord;
  createSandbox: Sandbox;
  removeSandbox: Sandbox;
  connect: Endpoint;
  disconnect: Endpoint;
  /** The endpoints removed, as they were. */
  finishDrain: Endpoint[];
  createService: Service;
  updateService: Service;
  removeService: Service;
  setDefaultAddressPools: AddressPoolRecord[];
}

export type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

/** What applying `C` gives on success: `Network` for createNetwork, `Endpoint` for connect, … */
export type AppliedValue<C extends Command> = CommandValues[C['type']];

export type ApplyResult<C extends Command = Command> = Result<AppliedValue<C>>;
