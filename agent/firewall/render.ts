import { formatCidr } from '../../proto/runtime/ipv4';
import { addressMatch, canonicalCidr, ipv4Number } from './address-match';
import { layOut } from './listing';
import type { DesiredFirewall, PublishedPort } from './model';

const PUBLISHED_CHAIN = 'published_ports';

function chain(name: string, statements: readonly string[]): string[] {
  return [`chain ${name} {`, ...statements, '}'];
}

function byProtocolThenPort(a: PublishedPort, b: PublishedPort): number {
  return (
    a.protocol.localeCompare(b.protocol) ||
    a.hostPort - b.hostPort ||
    ipv4Number(a.address) - ipv4Number(b.address) ||
    a.port - b.port
  );
}

/** `tcp dport` implies `meta l4proto tcp`, which nft needs before a DNAT that rewrites the port. */
function publishRule(port: PublishedPort): string {
  return `${port.protocol} dport ${port.hostPort} dnat to ${port.address}:${port.port}`;
}

function forwardRules(firewall: DesiredFirewall): string[] {
  const bridge = JSON.stringify(firewall.gatewayBridge);
  const isolated = addressMatch(firewall.isolatedSubnets);
  return [
    'type filter hook forward priority filter; policy accept;',
    // Bridged sandbox-to-sandbox frames never get here; this stops the routed detour via the host.
    `iifname ${bridge} oifname ${bridge} drop`,
    ...(isolated === undefined ? [] : [`iifname ${bridge} ip daddr ${isolated} drop`]),
    `oifname ${bridge} ct state established,related accept`,
    `oifname ${bridge} ct status dnat accept`,
    `oifname ${bridge} drop`,
  ];
}

/**
 * The table exactly as `nft list table ip NAME` prints it once normalized, so a converged host
 * compares equal. Every ordering is by value, never by input order.
 */
export function renderTable(firewall: DesiredFirewall): string {
  const bridge = JSON.stringify(firewall.gatewayBridge);
  const gatewaySubnet = formatCidr(canonicalCidr(firewall.gatewaySubnet));
  const published = [...firewall.published].sort(byProtocolThenPort).map(publishRule);
  return layOut([
    `table ip ${firewall.table} {`,
    ...chain('prerouting', ['type nat hook prerouting priority dstnat; policy accept;', `fib daddr type local jump ${PUBLISHED_CHAIN}`]),
    ...chain('output', [
      // nft 1.0.6 refuses `priority dstnat` on the output hook. Loopback is left alone: reaching
      // a sandbox from 127.0.0.1 would need route_localnet, which also exposes the host's own
      // loopback services to the bridge.
      'type nat hook output priority -100; policy accept;',
      `ip daddr != 127.0.0.0/8 fib daddr type local jump ${PUBLISHED_CHAIN}`,
    ]),
    ...chain(PUBLISHED_CHAIN, published),
    ...chain('postrouting', [
      'type nat hook postrouting priority srcnat; policy accept;',
      `ip saddr ${gatewaySubnet} oifname != ${bridge} masquerade`,
    ]),
    ...chain('forward', forwardRules(firewall)),
    '}',
  ]);
}
