import { createHash } from 'node:crypto';
import type { GossipEntry } from '../gen/trellis/v1/gossip';

/**
 * The digest of the endpoints one node owns on one network (MemberDigest): the leader computes
 * it from the store, a gossiping agent from what a member's gossip (or the managers' answer)
 * gave it, so the two compare without listing entries. Order-independent; covers every field a
 * member programs or answers with, but not `ready`, which follows the agents' reports and is
 * no part of the store.
 */
export function gossipEntryDigest(entries: Iterable<GossipEntry>): string {
  const lines = [...entries]
    .map((entry) =>
      JSON.stringify([
        entry.endpointId,
        entry.ip,
        entry.prefixLength,
        entry.mac,
        entry.vtep,
        entry.sandboxId,
        entry.sandboxName,
        entry.hostname,
        entry.aliases,
        entry.serviceId,
        entry.draining,
      ]),
    )
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 32);
}
