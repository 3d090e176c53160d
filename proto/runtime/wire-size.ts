/*
 * Protobuf wire sizes, counted without encoding a whole message: a sender that must
 * keep each message under a limit adds up its fields as it fills it.
 */

export interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** Bytes of a varint holding `value` (a non-negative integer). */
export function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes += 1;
  return bytes;
}

/** Bytes of a length-delimited field numbered 1–15 (one tag byte) whose body is `bodyBytes` long. */
export function delimitedFieldBytes(bodyBytes: number): number {
  return 1 + varintBytes(bodyBytes) + bodyBytes;
}

/** Bytes of one string of a repeated string field numbered 1–15. */
export function stringFieldBytes(value: string): number {
  return delimitedFieldBytes(Buffer.byteLength(value, 'utf8'));
}

/**
 * Messages are never changed once built, and the same one goes into many nodes'
 * views (every node hosting a network gets its endpoints), so each is measured once.
 */
const measured = new WeakMap<object, number>();

/** Bytes of one message of a repeated message field numbered 1–15. */
export function messageFieldBytes<T extends object>(codec: Encoder<T>, message: T): number {
  let bytes = measured.get(message);
  if (bytes === undefined) {
    bytes = delimitedFieldBytes(codec.encode(message).finish().length);
    measured.set(message, bytes);
  }
  return bytes;
}
