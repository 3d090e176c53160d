import { Cidr, formatIpv4, lastAddress, parseCidr, parseIpv4 } from '../../proto/runtime/ipv4';

/** Inclusive, as unsigned 32-bit numbers. */
interface AddressRange {
  first: number;
  last: number;
}

/** Host bits are cleared rather than refused: nft would print the block's network address anyway. */
export function canonicalCidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (parsed.ok) return parsed.cidr;
  if (parsed.reason === 'host-bits') return parsed.network;
  throw new Error(`not an IPv4 subnet: ${text}`);
}

export function ipv4Number(text: string): number {
  const address = parseIpv4(text);
  if (address === undefined) throw new Error(`not an IPv4 address: ${text}`);
  return address;
}

/**
 * nft merges overlapping and adjacent elements of an anonymous interval set as it loads it and
 * lists the merged ranges, so the rendering merges first to print what nft will print back.
 */
export function mergedRanges(subnets: readonly string[]): AddressRange[] {
  const ranges = subnets
    .map(canonicalCidr)
    .map((cidr) => ({ first: cidr.network, last: lastAddress(cidr) }))
    .sort((a, b) => a.first - b.first || a.last - b.last);
  const merged: AddressRange[] = [];
  for (const range of ranges) {
    const previous = merged[merged.length - 1];
    if (previous !== undefined && range.first <= previous.last + 1) previous.last = Math.max(previous.last, range.last);
    else merged.push({ ...range });
  }
  return merged;
}

/** The prefix length of a range that is exactly one CIDR block, else undefined. */
function blockPrefixLength(range: AddressRange): number | undefined {
  const size = range.last - range.first + 1;
  for (let prefixLength = 0; prefixLength <= 32; prefixLength += 1) {
    const blockSize = 2 ** (32 - prefixLength);
    if (blockSize === size) return range.first % blockSize === 0 ? prefixLength : undefined;
  }
  return undefined;
}

/** As nft lists it: a CIDR block as a prefix, a single address bare, anything else as `first-last`. */
export function formatRange(range: AddressRange): string {
  const prefixLength = blockPrefixLength(range);
  if (prefixLength === undefined) return `${formatIpv4(range.first)}-${formatIpv4(range.last)}`;
  if (prefixLength === 32) return formatIpv4(range.first);
  return `${formatIpv4(range.first)}/${prefixLength}`;
}

/**
 * The right-hand side of an `ip daddr` match covering the subnets, or undefined for none. nft
 * turns a one-element set into a plain value on load, so a lone range is rendered without braces.
 */
export function addressMatch(subnets: readonly string[]): string | undefined {
  const elements = mergedRanges(subnets).map(formatRange);
  if (elements.length === 0) return undefined;
  if (elements.length === 1) return elements[0];
  return `{ ${elements.join(', ')} }`;
}
