import { NODE_REPORT_LIMITS } from '../../proto/runtime/node-report';
import { FIRST_VNI, LAST_VNI } from './state';

/*
 * The bounds of every list and free-form field a user sets, in one place so the README can list
 * them. Every object lives in every replica, in every answer about it and (endpoints) in the views
 * of every node of its networks, so one object must stay a small part of a 4 MB gRPC message: with
 * every field at its limit, an endpoint serializes to about 35 KB (its entry in a node view to 19 KB),
 * a network to 14 KB, a service to 14 KB and a node to 45 KB (limits.test.ts), all well under 64 KB.
 * Docker sets none of these; the values are far above what a real deployment uses (a container with
 * 64 aliases, or a network with 16 subnets, is already unusual), and name lengths follow DNS.
 */

export const LIMITS = {
  /** Per endpoint (`--alias`); DNS names are at most 253 characters (RFC 1035's 255 octets on the wire). */
  aliases: 64,
  aliasLength: 253,
  /** Per endpoint (`--add-host`): /etc/hosts lines. */
  extraHosts: 64,
  /** Per endpoint (`--dns`): glibc reads only the first 3 nameserver lines; 8 leaves room for other resolvers. */
  dns: 8,
  /** Per endpoint (`--publish`). */
  publishedPorts: 128,
  /** Per sandbox: networks it is connected to (interfaces eth0…eth63). */
  endpointsPerSandbox: 64,
  /** Per network (`--subnet` / ipam entries). */
  subnetsPerNetwork: 16,
  /** Per network, over all its subnets (`--aux-address`). */
  auxAddressesPerNetwork: 64,
  auxNameLength: 64,
  /** Per service (`--network`). */
  networksPerService: 64,
  /** Per service (`--publish`). */
  portsPerService: 128,
  /** Per object (network, service, node): count, key and value length, and key + value bytes (UTF-8) together. */
  labels: 64,
  labelKeyLength: 128,
  labelValueLength: 4096,
  labelBytes: 8192,
  /** Per node: ports its agent reports as reserved (its metrics port and `--reserved-ports`). */
  reservedPortsPerNode: 64,
  reservedPortReasonLength: 128,
  /** Per node, as its agent reports them at registration (macvlan/ipvlan parents): host interfaces, IPv4 addresses of each, link kinds. */
  interfacesPerNode: NODE_REPORT_LIMITS.interfaces,
  addressesPerInterface: NODE_REPORT_LIMITS.addressesPerInterface,
  linkKindsPerNode: NODE_REPORT_LIMITS.linkKinds,
  linkKindLength: NODE_REPORT_LIMITS.linkKindLength,
  /** Per endpoint (`--expose`). */
  exposedPorts: 128,
  /** Per network (`-o KEY=VALUE`): each driver knows one or two keys; the rest is refused by name. */
  driverOptions: 8,
} as const;

/** Numbers with a range of their own (the wire type, uint32, holds far more). */
export const VNI_RANGE = { min: FIRST_VNI, max: LAST_VNI } as const;
/** IPv4's minimum datagram size, and the largest jumbo frame NICs commonly take. */
export const MTU_RANGE = { min: 576, max: 9000 } as const;
export const PORT_RANGE = { min: 1, max: 65535 } as const;

/**
 * A service's drain timeout, in seconds (0 = a leaving backend is cut at once). A day is far longer than
 * any graceful shutdown; a longer one would keep a removed sandbox around for days.
 */
export const DRAIN_TIMEOUT_RANGE = { min: 0, max: 86_400 } as const;
/**
 * Idle timeouts of flows through a service's VIPs, in seconds. At least 1 (the kernel takes 0 for "unchanged"),
 * at most a week: conntrack keeps timeouts in jiffies in 32 bits, which a much longer one would overflow.
 */
export const IDLE_TIMEOUT_RANGE = { min: 1, max: 604_800 } as const;
