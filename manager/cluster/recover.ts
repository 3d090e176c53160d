import type { ConfState, DurableStorage, NodeId } from '../raft/core';
import { Store, type AddressPoolRecord } from '../store';
import { decodeSnapshotPayload, encodeSnapshotPayload, type MemberAddresses } from './members';
import { decodeProposal } from './proposal';

export interface RecoveredState {
  store: Store;
  members: MemberAddresses;
  confState: ConfState;
  applied: number;
}

/** The state held by the newest snapshot; the core re-delivers committed entries after it. */
export function fromSnapshot(storage: DurableStorage): RecoveredState {
  const snapshot = storage.snapshot();
  if (snapshot.metadata.index === 0) {
    return { store: new Store(), members: {}, confState: { voters: [], learners: [] }, applied: 0 };
  }
  const payload = decodeSnapshotPayload(snapshot.data);
  return {
    store: Store.restore(payload.store),
    members: payload.members,
    confState: snapshot.metadata.confState,
    applied: snapshot.metadata.index,
  };
}

export function isEmpty(storage: DurableStorage): boolean {
  return storage.lastIndex() === 0 && storage.snapshot().metadata.index === 0;
}

/**
 * The store a new cluster starts from: empty, or with the default address pools the
 * first manager was given. Throws, with the store's message, on pools it refuses.
 */
export function initialStore(defaultAddressPools?: readonly AddressPoolRecord[]): Store {
  const store = new Store();
  if (defaultAddressPools === undefined) return store;
  const result = store.apply({ type: 'setDefaultAddressPools', pools: defaultAddressPools });
  if (!result.ok) throw new Error(result.error.message);
  return store;
}

/** A brand-new cluster whose only voter is this manager: a snapshot at index 1 holding the initial store. */
export async function bootstrapNewCluster(storage: DurableStorage, id: NodeId, address: string, store: Store = new Store()): Promise<void> {
  const confState = { voters: [id], learners: [] };
  const data = encodeSnapshotPayload({ store: store.snapshot(), members: { [id]: address } });
  await storage.save({ term: 1, vote: '', commit: 1 }, [], { metadata: { index: 1, term: 1, confState }, data });
}

/**
 * `--force-new-cluster`: the survivor becomes the only voter of a new cluster,
 * in a later term, with every entry its log holds. The stored commit index may
 * lag what the old cluster committed (a commit-only change is not synced), so
 * stopping there could drop acknowledged writes; entries past it were never
 * acknowledged by this log's leader, or may have been: as etcd does, they are
 * kept and committed. Membership changes among them are moot in a one-member cluster.
 */
export async function forceNewCluster(storage: DurableStorage, id: NodeId, address: string): Promise<void> {
  const state = fromSnapshot(storage);
  const { hardState } = storage.initialState();
  const lastIndex = storage.lastIndex();
  const kept = lastIndex > state.applied ? storage.entries(state.applied + 1, lastIndex + 1) : [];
  for (const entry of kept) {
    // What the log holds is applied as the running cluster would: an entry that is no proposal, or no valid command, changes nothing.
    const command = entry.type === 'normal' && entry.data.length > 0 ? decodeProposal(entry.data)?.command : undefined;
    if (command?.ok) state.store.apply(command.value);
  }
  const index = Math.max(lastIndex, state.applied);
  const confState = { voters: [id], learners: [] };
  const data = encodeSnapshotPayload({ store: state.store.snapshot(), members: { [id]: address } });
  await storage.save(
    { term: hardState.term + 1, vote: '', commit: index },
    [],
    { metadata: { index, term: storage.term(index), confState }, data },
  );
}
