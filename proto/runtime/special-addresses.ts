import { cidrContains, cidrsOverlap, formatCidr, type Cidr } from './ipv4';

/*
 * IPv4 blocks no overlay subnet and no node address may use (RFC 6890): packets to or from them
 * are dropped, looped back or flooded by every host on the way, whatever Trellis programs.
 */

export interface SpecialBlock {
  cidr: Cidr;
  /** Why it is unusable, for a refusal: "127.0.0.0/8 is loopback". */
  reason: string;
}

const block = (network: number, prefixLength: number, what: string): SpecialBlock => {
  const cidr = { network: network >>> 0, prefixLength };
  return { cidr, reason: `${formatCidr(cidr)} is ${what}` };
};

export const UNUSABLE_BLOCKS: readonly SpecialBlock[] = [
  block(0x00000000, 8, '"this network", never a host or a destination'),
  block(0x7f000000, 8, 'loopback: every host answers it itself'),
  block(0xe0000000, 4, 'multicast'),
  block(0xf0000000, 4, 'reserved for future use, with the limited broadcast address 255.255.255.255'),
];

/** The first unusable block the subnet overlaps. */
export function unusableBlockOverlapping(subnet: Cidr): SpecialBlock | undefined {
  return UNUSABLE_BLOCKS.find((special) => cidrsOverlap(special.cidr, subnet));
}

/** The unusable block holding the address. */
export function unusableBlockHolding(address: number): SpecialBlock | undefined {
  return UNUSABLE_BLOCKS.find((special) => cidrContains(special.cidr, address));
}
