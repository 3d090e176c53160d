import fc from 'fast-check';
import type { DesiredFirewall, LocalBridgeRules, PublishedPort } from './model';

/**
 * Desired states crowded into little address space, so that subnets overlap, nest and touch
 * (which nft merges) and published ports share numbers.
 */

const octet = fc.integer({ min: 0, max: 255 });

// Many /24s among eight, so that neighbours merge into ranges and prefixes; some smaller blocks;
// now and then one that swallows others.
const prefixLength = fc.oneof(
  { arbitrary: fc.constant(24), weight: 4 },
  { arbitrary: fc.integer({ min: 25, max: 32 }), weight: 4 },
  { arbitrary: fc.integer({ min: 20, max: 23 }), weight: 1 },
);

export const arbitrarySubnet = fc
  .tuple(fc.integer({ min: 0, max: 7 }), octet, prefixLength)
  .map(([third, fourth, prefixLength]) => `10.231.${third}.${fourth}/${prefixLength}`);

const arbitraryPublishedPort: fc.Arbitrary<PublishedPort> = fc.record({
  protocol: fc.constantFrom('tcp' as const, 'udp' as const),
  hostPort: fc.integer({ min: 1, max: 65535 }),
  address: fc.tuple(fc.integer({ min: 0, max: 3 }), octet).map(([third, fourth]) => `172.29.${third}.${fourth}`),
  port: fc.integer({ min: 1, max: 65535 }),
});

const arbitraryLocalBridge: fc.Arbitrary<LocalBridgeRules> = fc.record({
  bridge: fc.integer({ min: 0, max: 5 }).map((index) => `trlb-fw${index}`),
  subnets: fc.array(arbitrarySubnet, { minLength: 1, maxLength: 3 }),
  internal: fc.boolean(),
  isolated: fc.boolean(),
});

export function arbitraryFirewall(table: string): fc.Arbitrary<DesiredFirewall> {
  return fc.record({
    table: fc.constant(table),
    gatewayBridge: fc.constantFrom('trellis_gw', 'trfwgw'),
    gatewaySubnet: fc.constantFrom('172.29.0.0/16', '172.29.0.1/16', '192.168.128.0/17'),
    isolatedSubnets: fc.array(arbitrarySubnet, { maxLength: 12 }),
    published: fc.array(arbitraryPublishedPort, { maxLength: 12 }),
    // One set of rules per bridge name, as desired() makes them.
    localBridges: fc.uniqueArray(arbitraryLocalBridge, { maxLength: 4, selector: (rules) => rules.bridge }),
  });
}
