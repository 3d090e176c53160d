import type { ConfChange, NodeId } from '../raft/core';
import type { StoreSnapshot } from '../store';
import { fromJsonBytes, toJsonBytes } from './json-bytes';

/** Every manager's API address, by Raft member id; replicated through conf-change contexts. */
export type MemberAddresses = Record<NodeId, string>;

/** What a Raft snapshot holds: the store and where its members listen. */
export interface SnapshotPayload {
  store: StoreSnapshot;
  members: MemberAddresses;
}

export function encodeSnapshotPayload(payload: SnapshotPayload): Uint8Array {
  return toJsonBytes(payload);
}

export function decodeSnapshotPayload(data: Uint8Array): SnapshotPayload {
  return fromJsonBytes<SnapshotPayload>(data);
}

/** The address book after a membership change is applied. */
export function withChange(members: MemberAddresses, change: ConfChange): MemberAddresses {
  const next = { ...members };
  if (change.type === 'removeNode') delete next[change.nodeId];
  else if (change.context) next[change.nodeId] = change.context;
  return next;
}

