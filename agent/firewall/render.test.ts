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
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "trellis_gw" oifname "trellis_gw" drop
		iifname "trellis_gw" ip daddr { 10.0.9.0/24, 10.231.7.0-10.231.8.255 } drop
		oifname "trellis_gw" ct state established,related accept
		oifname "trellis_gw" ct status dnat accept
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
          fc.tuple(fc.constant(desired), shuffled(desired.isolatedSubnets), shuffled(desired.published)),
        ),
        ([desired, isolatedSubnets, published]) => {
          expect(renderTable({ ...desired, isolatedSubnets, published })).toBe(renderTable(desired));
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
