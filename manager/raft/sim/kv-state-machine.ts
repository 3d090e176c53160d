import type { RegisterValue } from './linearizability';

/** The one command the simulated clients replicate. */
export interface PutCommand {
  op: 'put';
  key: string;
  value: string;
  clientId: string;
  seq: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodePut(command: PutCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** undefined for the leader's empty no-op entry. */
export function decodePut(data: Uint8Array): PutCommand | undefined {
  if (data.length === 0) return undefined;
  const parsed = JSON.parse(decoder.decode(data)) as Partial<PutCommand>;
  if (parsed.op !== 'put' || typeof parsed.key !== 'string' || typeof parsed.value !== 'string') {
    throw new Error(`not a put command: ${decoder.decode(data)}`);
  }
  return { op: 'put', key: parsed.key, value: parsed.value, clientId: String(parsed.clientId), seq: Number(parsed.seq) };
}

/** A node's replica of the key-value store: registers, last write wins. */
export class KvStateMachine {
  private readonly values: Map<string, string>;

  constructor(values: Map<string, string> = new Map()) {
    this.values = values;
  }

  static fromSnapshot(data: Uint8Array): KvStateMachine {
    if (data.length === 0) return new KvStateMachine();
    const pairs = JSON.parse(decoder.decode(data)) as [string, string][];
    return new KvStateMachine(new Map(pairs));
  }

  apply(command: PutCommand): void {
    this.values.set(command.key, command.value);
  }

  get(key: string): RegisterValue {
    return this.values.get(key) ?? null;
  }

  /** Sorted by key, so equal states give equal bytes whatever order they were built in. */
  snapshot(): Uint8Array {
    const pairs = [...this.values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return encoder.encode(JSON.stringify(pairs));
  }
}
