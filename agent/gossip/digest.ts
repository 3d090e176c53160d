import { createHash } from 'node:crypto';
import type { EndpointRecord } from './model';

/**
 * The digest of one member's endpoints on one network: the managers compute it from the store
 * for every member in a node's view, and the agent from what gossip holds of that member, so
 * the two compare without listing entries. Order-independent; covers every field programmed.
 */
export function endpointsDigest(records: Iterable<EndpointRecord>): string {
  const lines = [...records].map((record) => `${record.endpointId}\t${record.ip}\t${record.mac}\t${record.vtep}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 32);
}
