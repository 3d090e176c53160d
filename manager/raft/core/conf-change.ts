import type { ConfChange, ConfChangeType } from './types';

const CHANGE_TYPES: readonly ConfChangeType[] = ['addVoter', 'addLearner', 'removeNode'];

/** The bytes a confChange entry carries; every member decodes the same change. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const { type, nodeId, context } = change;
  return new TextEncoder().encode(JSON.stringify({ type, nodeId, context }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const parsed: unknown = JSON.parse(new TextDecoder().decode(data));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('conf change: not an object');
  const { type, nodeId, context } = parsed as Record<string, unknown>;
  if (!CHANGE_TYPES.includes(type as ConfChangeType)) throw new Error(`conf change: unknown type ${String(type)}`);
  if (typeof nodeId !== 'string' || nodeId === '') throw new Error('conf change: nodeId must be a non-empty string');
  if (typeof context !== 'string') throw new Error('conf change: context must be a string');
  return { type: type as ConfChangeType, nodeId, context };
}
