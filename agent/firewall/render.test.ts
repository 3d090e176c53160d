import fc from 'fast-check';
import { DesiredFirewall, renderTable, replaceScript } from '.';
import { arbitraryFirewall } from './test-arbitraries';

const firewall: DesiredFirewall = {
  table: 'trellis',
  gatewayBridge: 'trellis_gw',
  gatewaySubnet: '172.29.0.0/16',
  isolatedSubnets: ['10.231.8.0/24', '10.231.7.0/24', '10.0.9.0/24'],
  published: [
    { protocol: 'udp', hostPort: 53, address: '172.29.0.3', port: 5353 },
    { protocol: 'tcp', hostPort: 8080, address: '172.29.0.2', port: 80 },
    { protocol: 'tcp', hostPort: 443, address: '172.29.0.10', port: 8443 },
  ],
  localBridges: [],
};

describe('renderTable', () => {
  test('renders the whole table as nft lists it', () => {
    expect(renderTable(firewall)).toBe(`table ip trellis {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local jump published_ports
	}
	chain output {
		type nat hook output priority -100; policy accept;
		ip daddr != 127.0.0.0/8 fib daddr type local jump published_ports
	}
	chain published_ports {
		tcp dport 443 dnat to 172.29.0.10:8443
		tcp dport 8080 dnat to 172.29.0.2:80
		udp dport 53 dnat to 172.29.0.3:5353
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 172.29.0.0/16 oifname != "trellis_gw" masquerade
		oifname "trellis_gw" ip saddr 172.29.0.0/16 ct status dnat masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct status dnat accept
		iifname "trellis_gw" oifname "trellis_gw" drop
		iifname "trellis_gw" ip daddr { 10.0.9.0/24, 10.231.7.0-10.231.8.255 } drop
		oifname "trellis_gw" ct state established,related accept
		oifname "trellis_gw" drop
	}
}
`);
  });

  test('with nothing isolated and nothing published, the chains stay and the isolation rule goes', () => {
    const rendered = renderTable({ ...firewall, isolatedSubnets: [], published: [] });
    expect(rendered).toContain('\tchain published_ports {\n\t}\n');
    expect(rendered).not.toContain('ip daddr {');
    expect(rendered).toContain('iifname "trellis_gw" oifname "trellis_gw" drop\n\t\toifname "trellis_gw" ct state');
  });

  test('bridge networks: masquerade out of non-internal ones, hairpin, and isolation from each other, the gateway bridge and overlay subnets', () => {
    const rendered = renderTable({
      ...firewall,
      isolatedSubnets: ['10.0.9.0/24'],
      localBridges: [
        { bridge: 'trlb-open', subnets: ['10.40.0.0/24', '10.41.0.0/24'], internal: false, isolated: false },
        { bridge: 'trlb-icc', subnets: ['10.42.0.0/24'], internal: false, isolated: true },
        { bridge: 'trlb-inner', subnets: ['10.43.0.0/24'], internal: true, isolated: false },
      ],
    });
    expect(rendered).toContain(`	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 172.29.0.0/16 oifname != "trellis_gw" masquerade
		ip saddr 10.42.0.0/24 oifname != "trlb-icc" masquerade
		ip saddr { 10.40.0.0/24, 10.41.0.0/24 } oifname != "trlb-open" masquerade
		oifname "trellis_gw" ip saddr 172.29.0.0/16 ct status dnat masquerade
		oifname "trlb-icc" ip saddr 10.42.0.0/24 ct status dnat masquerade
		oifname "trlb-open" ip saddr { 10.40.0.0/24, 10.41.0.0/24 } ct status dnat masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "trlb-inner" oifname "trlb-inner" accept
		iifname "trlb-inner" drop
		oifname "trlb-inner" drop
		ct status dnat accept
		iifname "trellis_gw" oifname "trellis_gw" drop
		iifname "trellis_gw" ip daddr 10.0.9.0/24 drop
		oifname "trellis_gw" ct state established,related accept
		oifname "trellis_gw" drop
		iifname "trlb-icc" oifname "trlb-icc" drop
		iifname "trlb-icc" ip daddr 10.0.9.0/24 drop
		oifname "trlb-icc" ct state established,related accept
		oifname "trlb-icc" drop
		iifname "trlb-open" oifname "trlb-open" accept
		iifname "trlb-open" ip daddr 10.0.9.0/24 drop
		oifname "trlb-open" ct state established,related accept
		oifname "trlb-open" drop
	}
`);
  });

  test('the gateway subnet is printed as its network', () => {
    expect(renderTable({ ...firewall, gatewaySubnet: '172.29.0.1/16' })).toContain('ip saddr 172.29.0.0/16 oifname');
  });

  test('ports with the same number are ordered by address, numerically', () => {
    const rendered = renderTable({
      ...firewall,
      published: [
        { protocol: 'tcp', hostPort: 80, address: '172.29.0.10', port: 80 },
        { protocol: 'tcp', hostPort: 80, address: '172.29.0.9', port: 80 },
      ],
    });
    expect(rendered.indexOf('172.29.0.9:80')).toBeLessThan(rendered.indexOf('172.29.0.10:80'));
  });

  test('does not depend on the order of the input lists', () => {
    const shuffled = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
    fc.assert(
      fc.property(
        arbitraryFirewall('t').chain((desired) =>
          fc.tuple(fc.constant(desired), shuffled(desired.isolatedSubnets), shuffled(desired.published), shuffled(desired.localBridges)),
        ),
        ([desired, isolatedSubnets, published, localBridges]) => {
          expect(renderTable({ ...desired, isolatedSubnets, published, localBridges })).toBe(renderTable(desired));
        },
      ),
    );
  });
});

describe('replaceScript', () => {
  test('declares, deletes and recreates the table in one file', () => {
    expect(replaceScript(firewall)).toBe(`table ip trellis\ndelete table ip trellis\n${renderTable(firewall)}`);
  });
});
