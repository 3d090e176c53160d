/**
 * Where commands become durable before the store applies them. The single-node
 * FileLog implements it now; the Raft log will replace it without the store
 * noticing.
 */
export interface Log {
  /** Resolves with the entry's index (from 1, consecutive) once the entry is durable. */
  append(entry: Uint8Array): Promise<number>;
}
