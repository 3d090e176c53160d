import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import type { TableEntry } from './model';

interface Learned {
  fingerprint: string;
  atMs: number;
  programmed: boolean;
}

/**
 * Times remote entries from the moment one (new, or changed in anything the digest covers) is
 * first learned here to the end of the first pass that programmed it as learned: the
 * propagation a member sees (trellis_gossip_propagation_seconds).
 */
export class PropagationClock {
  private readonly learned = new Map<string, Learned>();
  /** The GossipAgent makes new entry objects only for a member whose set changed: the others' fingerprints are kept. */
  private readonly fingerprints = new WeakMap<TableEntry, string>();

  /** The entries of a new composition: the new and changed ones start their clock, the gone ones are forgotten. */
  composed(entries: readonly TableEntry[], nowMs: number): void {
    const present = new Set<string>();
    for (const entry of entries) {
      present.add(entry.endpointId);
      const fingerprint = this.fingerprint(entry);
      if (this.learned.get(entry.endpointId)?.fingerprint !== fingerprint) this.learned.set(entry.endpointId, { fingerprint, atMs: nowMs, programmed: false });
    }
    for (const endpointId of this.learned.keys()) if (!present.has(endpointId)) this.learned.delete(endpointId);
  }

  /** A pass programmed these entries (but `unprogrammed`): the seconds each waited, for those programmed the first time as learned. */
  programmed(entries: readonly TableEntry[], unprogrammed: ReadonlySet<string>, nowMs: number): number[] {
    const seconds: number[] = [];
    for (const entry of entries) {
      if (unprogrammed.has(entry.endpointId)) continue;
      const learned = this.learned.get(entry.endpointId);
      if (learned === undefined || learned.programmed || learned.fingerprint !== this.fingerprint(entry)) continue;
      learned.programmed = true;
      seconds.push((nowMs - learned.atMs) / 1000);
    }
    return seconds;
  }

  private fingerprint(entry: TableEntry): string {
    let fingerprint = this.fingerprints.get(entry);
    if (fingerprint === undefined) {
      fingerprint = gossipEntryDigest([entry]);
      this.fingerprints.set(entry, fingerprint);
    }
    return fingerprint;
  }
}
