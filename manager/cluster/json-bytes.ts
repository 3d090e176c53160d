/** Values that cross the log or the wire as UTF-8 JSON: proposals, snapshot payloads, forwarded commands and results. */
export function toJsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function fromJsonBytes<T>(data: Uint8Array): T {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as T;
}

/** For bytes from elsewhere (a peer, a log entry): the decoded value, or undefined when they are not JSON (no JSON text decodes to undefined). */
export function parseJsonBytes(data: Uint8Array): unknown {
  try {
    return fromJsonBytes<unknown>(data);
  } catch {
    return undefined;
  }
}
