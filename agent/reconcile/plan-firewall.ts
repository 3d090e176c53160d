import { addressOnly } from '../../proto/runtime/ipv4';
import { DesiredFirewall, deleteScript, renderTable, replaceScript } from '../firewall';
import { DesiredKernel, FIREWALL_TABLE, GATEWAY_BRIDGE, HOST, KernelAction } from '../kernel';

/**
 * The host firewall the desired kernel's parts ask for: none without a gateway bridge or a bridge
 * network. Published ports go to a sandbox's gateway-bridge address, or to a bridge network
 * endpoint's own. Pure.
 */
export function firewallOf(desired: Omit<DesiredKernel, 'firewall'>, gatewaySubnet: string): DesiredFirewall | undefined {
  const { gateway, localBridges } = desired;
  if (gateway === undefined && localBridges.length === 0) return undefined;
  return {
    table: FIREWALL_TABLE,
    gatewayBridge: gateway?.bridge ?? GATEWAY_BRIDGE,
    gatewaySubnet: gateway?.subnet ?? gatewaySubnet,
    isolatedSubnets: desired.isolatedSubnets,
    published: [
      ...desired.sandboxes.flatMap(({ egress }) =>
        egress === undefined ? [] : egress.published.map((rule) => ({ ...rule, address: addressOnly(egress.address) })),
      ),
      ...desired.endpoints.flatMap(({ published = [], address }) => published.map((rule) => ({ ...rule, address: addressOnly(address) }))),
    ],
    localBridges: localBridges.map(({ name, subnets, internal, isolated }) => ({ bridge: name, subnets, internal, isolated })),
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
