import type { Command } from '../store';

/** A normal Raft entry's payload: the command and the id of the request waiting for its result. */
export interface Proposal {
  requestId: string;
  command: Command;
}

export function encodeProposal(proposal: Proposal): Uint8Array {
  return Buffer.from(JSON.stringify(proposal), 'utf8');
}

export function decodeProposal(data: Uint8Array): Proposal {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Proposal;
}
