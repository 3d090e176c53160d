import { addressOnly } from '../../proto/runtime/ipv4';
import { DesiredFirewall, deleteScript, renderTable, replaceScript } from '../firewall';
import { DesiredKernel, FIREWALL_TABLE, HOST, KernelAction } from '../kernel';

/** The host firewall the desired kernel's parts ask for: none without a gateway bridge. Pure. */
export function firewallOf(desired: Omit<DesiredKernel, 'firewall'>): DesiredFirewall | undefined {
  const { gateway } = desired;
  if (gateway === undefined) return undefined;
  return {
    table: FIREWALL_TABLE,
    gatewayBridge: gateway.bridge,
    gatewaySubnet: gateway.subnet,
    isolatedSubnets: desired.isolatedSubnets,
    published: desired.sandboxes.flatMap(({ egress }) =>
      egress === undefined ? [] : egress.published.map((rule) => ({ ...rule, address: addressOnly(egress.address) })),
    ),
  };
}

/** One atomic replace of the whole table when it differs from what it should be; its deletion when not wanted. */
export function planFirewall(desired: DesiredKernel, observed: string | undefined): KernelAction[] {
  const wanted = desired.firewall;
  if (wanted === undefined) return observed === undefined ? [] : [nft(deleteScript(FIREWALL_TABLE))];
  return observed === renderTable(wanted) ? [] : [nft(replaceScript(wanted))];
}

function nft(script: string): KernelAction {
  return { scope: HOST, tool: 'nft', args: [script] };
}
