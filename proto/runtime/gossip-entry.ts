import type { EndpointView } from '../gen/trellis/v1/dispatcher';
import type { GossipEntry } from '../gen/trellis/v1/gossip';

/**
 * An endpoint as its owner gossips it, from the endpoint's view (EndpointView): the leader builds
 * its digests (MemberDigest) and fallback answers (MemberEntries) from the store's views with it,
 * and an owner's agent can build what it announces from its own view the same way, so both sides
 * digest the same fields of the same values.
 */
export function gossipEntryOf(view: EndpointView, ready: boolean): GossipEntry {
  const { id: endpointId, ip, prefixLength, mac, vtep, sandboxId, sandboxName, hostname, aliases, serviceId, draining } = view;
  return { endpointId, ip, prefixLength, mac, vtep, sandboxId, sandboxName, hostname, aliases: [...aliases], serviceId, draining, ready };
}
