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

/**
 * Forwarding, in three parts. Internal bridge networks first: nothing in or out, not even a
 * published port. Then a published port is public: its DNAT flows (and their replies) cross every
 * isolation below, so it answers from any sandbox on the host (hairpin). Then the gateway bridge
 * and each bridge network: no routed detour between their own sandboxes (but where icc allows),
 * none to overlay subnets, and nothing in but replies: so no bridge reaches another, nor the
 * gateway bridge, nor back.
 */
function forwardRules(firewall: DesiredFirewall): string[] {
  const gateway = JSON.stringify(firewall.gatewayBridge);
  const isolated = addressMatch(firewall.isolatedSubnets);
  const bridges = [...firewall.localBridges].sort((a, b) => a.bridge.localeCompare(b.bridge));
  const inAndOut = (bridge: string, icc: boolean, ...between: string[]) => [
    `iifname ${bridge} oifname ${bridge} ${icc ? 'accept' : 'drop'}`,
    ...between,
    ...(isolated === undefined ? [] : [`iifname ${bridge} ip daddr ${isolated} drop`]),
    `oifname ${bridge} ct state established,related accept`,
    `oifname ${bridge} drop`,
  ];
  return [
    'type filter hook forward priority filter; policy accept;',
    ...bridges.filter((rules) => rules.internal).flatMap((rules) => {
      const bridge = JSON.stringify(rules.bridge);
      return [`iifname ${bridge} oifname ${bridge} ${rules.isolated ? 'drop' : 'accept'}`, `iifname ${bridge} drop`, `oifname ${bridge} drop`];
    }),
    'ct status dnat accept',
    // Bridged sandbox-to-sandbox frames never get here; this stops the routed detour via the host.
    ...inAndOut(gateway, false),
    ...bridges.filter((rules) => !rules.internal).flatMap((rules) => inAndOut(JSON.stringify(rules.bridge), !rules.isolated)),
  ];
}

/**
 * Masquerade on the way out of the gateway bridge's subnet and each non-internal bridge network's;
 * and of a DNAT flow from a bridge's own subnet back onto that bridge (a sandbox reaching a
 * published port of its bridge through the host's address), so the answer comes back through the
 * host. Matched by source subnet, not by input interface: with br_netfilter such a flow is bridged,
 * and the bridge's postrouting hook has no input interface.
 */
function postroutingRules(firewall: DesiredFirewall): string[] {
  const gateway = JSON.stringify(firewall.gatewayBridge);
  const gatewaySubnet = formatCidr(canonicalCidr(firewall.gatewaySubnet));
  const outward = [...firewall.localBridges].filter((rules) => !rules.internal).sort((a, b) => a.bridge.localeCompare(b.bridge));
  const bridged = outward.flatMap((rules) => {
    const subnets = addressMatch(rules.subnets);
    return subnets === undefined ? [] : [{ bridge: JSON.stringify(rules.bridge), subnets }];
  });
  return [
    'type nat hook postrouting priority srcnat; policy accept;',
    `ip saddr ${gatewaySubnet} oifname != ${gateway} masquerade`,
    ...bridged.map(({ bridge, subnets }) => `ip saddr ${subnets} oifname != ${bridge} masquerade`),
    `oifname ${gateway} ip saddr ${gatewaySubnet} ct status dnat masquerade`,
    ...bridged.map(({ bridge, subnets }) => `oifname ${bridge} ip saddr ${subnets} ct status dnat masquerade`),
  ];
}

/**
 * The table exactly as `nft list table ip NAME` prints it once normalized, so a converged host
 * compares equal. Every ordering is by value, never by input order.
 */
export function renderTable(firewall: DesiredFirewall): string {
  const published = [...firewall.published].sort(byProtocolThenPort).map(publishRule);
  return layOut([
    `table ip ${firewall.table} {`,
    // Every interface: a sandbox on a bridge of this host reaching the host's address is DNATed too (hairpin).
    ...chain('prerouting', ['type nat hook prerouting priority dstnat; policy accept;', `fib daddr type local jump ${PUBLISHED_CHAIN}`]),
    ...chain('output', [
      // nft 1.0.6 refuses `priority dstnat` on the output hook. Loopback is left alone: reaching
      // a sandbox from 127.0.0.1 would need route_localnet, which also exposes the host's own
      // loopback services to the bridge.
      'type nat hook output priority -100; policy accept;',
      `ip daddr != 127.0.0.0/8 fib daddr type local jump ${PUBLISHED_CHAIN}`,
    ]),
    ...chain(PUBLISHED_CHAIN, published),
    ...chain('postrouting', postroutingRules(firewall)),
    ...chain('forward', forwardRules(firewall)),
    '}',
  ]);
}
