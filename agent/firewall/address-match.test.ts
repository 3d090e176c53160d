import fc from 'fast-check';
import { formatIpv4, lastAddress, parseIpv4 } from '../../proto/runtime/ipv4';
import { addressMatch, canonicalCidr, formatRange, mergedRanges } from './address-match';
import { arbitrarySubnet } from './test-arbitraries';

const range = (first: string, last: string) => ({ first: parseIpv4(first) ?? -1, last: parseIpv4(last) ?? -1 });

describe('addressMatch: what nft lists for an anonymous interval set', () => {
  test('no subnets, no match', () => {
    expect(addressMatch([])).toBeUndefined();
  });

  test('a lone element loses its braces, as nft prints a one-element set', () => {
    expect(addressMatch(['10.231.9.0/24'])).toBe('10.231.9.0/24');
    expect(addressMatch(['10.231.9.7/32'])).toBe('10.231.9.7');
  });

  test('elements are sorted by address, not by text', () => {
    expect(addressMatch(['192.168.0.0/24', '10.231.10.0/24', '10.231.8.0/24'])).toBe('{ 10.231.8.0/24, 10.231.10.0/24, 192.168.0.0/24 }');
  });

  test('adjacent blocks merge, into a prefix when aligned and a range when not', () => {
    expect(addressMatch(['10.231.1.0/24', '10.231.0.0/24', '10.231.7.0/24'])).toBe('{ 10.231.0.0/23, 10.231.7.0/24 }');
    expect(addressMatch(['10.231.1.0/24', '10.231.2.0/24', '10.231.7.1/32'])).toBe('{ 10.231.1.0-10.231.2.255, 10.231.7.1 }');
  });

  test('nested and duplicate subnets collapse into the outer one', () => {
    expect(addressMatch(['10.231.2.0/24', '10.0.0.0/8', '10.231.2.0/24', '192.168.1.0/24'])).toBe('{ 10.0.0.0/8, 192.168.1.0/24 }');
    expect(addressMatch(['10.231.2.0/24', '10.231.2.0/24'])).toBe('10.231.2.0/24');
  });

  test('host bits are cleared, as nft does', () => {
    expect(addressMatch(['10.231.9.7/24'])).toBe('10.231.9.0/24');
  });

  test('rejects text that is not a subnet rather than rendering something nft refuses', () => {
    expect(() => addressMatch(['10.231.9.0'])).toThrow('not an IPv4 subnet');
  });
});

describe('formatRange', () => {
  test.each([
    ['0.0.0.0', '255.255.255.255', '0.0.0.0/0'],
    ['10.231.1.6', '10.231.1.7', '10.231.1.6/31'],
    ['10.231.1.7', '10.231.1.8', '10.231.1.7-10.231.1.8'],
    ['10.231.1.7', '10.231.1.9', '10.231.1.7-10.231.1.9'],
    ['255.255.255.255', '255.255.255.255', '255.255.255.255'],
  ])('%s-%s is %s', (first, last, expected) => {
    expect(formatRange(range(first, last))).toBe(expected);
  });
});

describe('mergedRanges', () => {
  type Range = { first: number; last: number };
  const covers = (ranges: readonly Range[], address: number) => ranges.some((each) => each.first <= address && address <= each.last);
  const rangeOf = (subnet: string): Range => {
    const cidr = canonicalCidr(subnet);
    return { first: cidr.network, last: lastAddress(cidr) };
  };
  const base = parseIpv4('10.231.0.0') ?? 0;
  const nearbyAddress = fc.integer({ min: 0, max: 2 ** 12 - 1 }).map((offset) => base + offset);

  test('ranges are sorted and neither overlap nor touch (else nft would have merged them)', () => {
    fc.assert(
      fc.property(fc.array(arbitrarySubnet, { maxLength: 10 }), (subnets) => {
        const merged = mergedRanges(subnets);
        merged.slice(1).forEach((next, index) => expect(next.first).toBeGreaterThan((merged[index]?.last ?? -2) + 1));
      }),
    );
  });

  test('an address is covered exactly when one of the subnets holds it', () => {
    fc.assert(
      fc.property(fc.array(arbitrarySubnet, { maxLength: 10 }), fc.array(nearbyAddress, { maxLength: 50 }), (subnets, addresses) => {
        const merged = mergedRanges(subnets);
        for (const address of addresses) {
          expect({ address: formatIpv4(address), covered: covers(merged, address) }).toEqual({
            address: formatIpv4(address),
            covered: covers(subnets.map(rangeOf), address),
          });
        }
      }),
    );
  });
});
