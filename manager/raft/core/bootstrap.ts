import { encodeConfChange } from './conf-change';
import { None } from './types';
import type { Entry, HardState, NodeId } from './types';

/**
 * The log a new cluster's founding members start from: one committed
 * `addVoter` entry per founder, identical on each of them. Members that join
 * later start from an empty storage and learn the whole membership history
 * from the log (or a snapshot), so they never have to be told the founders.
 */
export function bootstrapLog(founders: readonly NodeId[]): { entries: Entry[]; hardState: HardState } {
  const entries = founders.map((nodeId, offset): Entry => ({
    term: 1,
    index: offset + 1,
    type: 'confChange',
    data: encodeConfChange({ type: 'addVoter', nodeId, context: '' }),
  }));
  return { entries, hardState: { term: 1, vote: None, commit: entries.length } };
}
