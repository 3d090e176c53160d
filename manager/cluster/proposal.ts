import type { Command } from '../store';
import { fromJsonBytes, toJsonBytes } from './json-bytes';

/** A normal Raft entry's payload: the command and the id of the request waiting for its result. */
export interface Proposal {
  requestId: string;
  command: Command;
}

export function encodeProposal(proposal: Proposal): Uint8Array {
  return toJsonBytes(proposal);
}

export function decodeProposal(data: Uint8Array): Proposal {
  return fromJsonBytes<Proposal>(data);
}
