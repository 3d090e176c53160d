/**
 * IPv4 addresses as unsigned 32-bit numbers, and the CIDR arithmetic on them. Here, beside the
 * other runtime pieces both sides share, because the manager (IPAM) and the agent (egress
 * addresses, firewall matches) both need it and never import each other.
 */

export interface Cidr {
  /** The network address (host bits zero). */
  network: number;
  prefixLength: number;
}

export type CidrParse =
  | { ok: true; cidr: Cidr }
  | { ok: false; reason: 'syntax' }
  /** Well-formed but with host bits set; `network` is what the user probably meant. */
  | { ok: false; reason: 'host-bits'; network: Cidr };

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Strict dotted quad: four decimal octets, no leading zeros (which some tools read as octal). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let address = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    address = address * 256 + octet;
  }
  return address;
}

function octets(address: number): number[] {
  return [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];
}

export function formatIpv4(address: number): string {
  return octets(address).join('.');
}

function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'syntax' };
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]?)$/.test(prefixText)) return { ok: false, reason: 'syntax' };
  const prefixLength = Number(prefixText);
  if (prefixLength > 32) return { ok: false, reason: 'syntax' };
  const network = (address & prefixMask(prefixLength)) >>> 0;
  if (network !== address) return { ok: false, reason: 'host-bits', network: { network, prefixLength } };
  return { ok: true, cidr: { network, prefixLength } };
}

/** "a.b.c.d" of an interface address written "a.b.c.d/len" (as the kernel lists it and the agent writes it). */
export function addressOnly(interfaceAddress: string): string {
  const slash = interfaceAddress.indexOf('/');
  return slash === -1 ? interfaceAddress : interfaceAddress.slice(0, slash);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefixLength}`;
}

/** The highest address of the block: the broadcast address for prefixes up to /30. */
export function lastAddress(cidr: Cidr): number {
  return (cidr.network | ~prefixMask(cidr.prefixLength)) >>> 0;
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return (address & prefixMask(cidr.prefixLength)) >>> 0 === cidr.network;
}

export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefixLength >= outer.prefixLength && cidrContains(outer, inner.network);
}

/** Docker's scheme: 02:42 followed by the four address octets, so the MAC is unique wherever the IP is. */
export function macForIpv4(address: number): string {
  return ['02', '42', ...octets(address).map((octet) => octet.toString(16).padStart(2, '0'))].join(':');
}

/** CIDR blocks either nest or are disjoint, so they overlap exactly when one contains the other. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

/** Numeric order of dotted-quad addresses (10.0.0.9 before 10.0.0.10); what does not parse sorts first. */
export function compareIpv4(a: string, b: string): number {
  return (parseIpv4(a) ?? 0) - (parseIpv4(b) ?? 0);
}
