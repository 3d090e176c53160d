import type { EndpointView, NetworkView } from '../../proto/gen/trellis/v1/dispatcher';
import type { DefaultRoute } from '../kernel';

/** One of a sandbox's local endpoints and its network. */
export interface Attachment {
  endpoint: EndpointView;
  network: NetworkView;
}

/** Networks local to one node, which give their sandboxes a default route of their own (no gateway bridge). */
const LOCAL_DRIVERS: ReadonlySet<string> = new Set(['bridge', 'macvlan', 'ipvlan']);

/** An overlay network: '' from managers before drivers were told. */
export function isOverlay(network: NetworkView): boolean {
  return network.driver === '' || network.driver === 'overlay';
}

/**
 * The default route a sandbox's local-driver networks give it, as Docker gives one: through the
 * gateway of the first (by network name, then id) non-internal bridge, macvlan or ipvlan network
 * it is on, out of that endpoint's interface. An ipvlan l3 network has no gateway on the link:
 * `default dev IFACE` (gateway ''). undefined: none of them does, and the sandbox goes out through
 * the gateway bridge if an overlay network lets it. Pure.
 */
export function localDefaultRoute(attachments: readonly Attachment[]): DefaultRoute | undefined {
  const chosen = attachments
    .filter(({ network }) => LOCAL_DRIVERS.has(network.driver) && !network.internal)
    .sort((a, b) => a.network.name.localeCompare(b.network.name) || a.network.id.localeCompare(b.network.id))[0];
  if (chosen === undefined) return undefined;
  const { network, endpoint } = chosen;
  const gateway = network.driver === 'ipvlan' && network.mode === 'l3' ? '' : network.gateway;
  return { gateway, device: endpoint.interfaceName };
}
