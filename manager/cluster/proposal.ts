import { checkCommand, type Command, type Result } from '../store';
import { parseJsonBytes, toJsonBytes } from './json-bytes';

/** A normal Raft entry's payload: the command and the id of the request waiting for its result. */
export interface Proposal {
  requestId: string;
  command: Command;
}

/** A proposal read back from the log, whose command is checked against its schema. */
export interface LoggedProposal {
  requestId: string;
  command: Result<Command>;
}

export function encodeProposal(proposal: Proposal): Uint8Array {
  return toJsonBytes(proposal);
}

/**
 * Undefined for bytes that are no proposal at all: the log may hold anything a peer or
 * another version wrote, and every replica must get past it alike.
 */
export function decodeProposal(data: Uint8Array): LoggedProposal | undefined {
  const value = parseJsonBytes(data);
  if (typeof value !== 'object' || value === null) return undefined;
  const own = (key: keyof Proposal): unknown => (Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined);
  const requestId = own('requestId');
  if (typeof requestId !== 'string') return undefined;
  return { requestId, command: checkCommand(own('command')) };
}
