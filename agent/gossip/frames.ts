/*
 * Gossip messages on a peer's encrypted stream: each one is a 4-byte big-endian length, then that
 * many bytes. The stream may split or join writes anywhere, so the decoder keeps what it has not
 * yet framed. A length above the bound is a peer that is broken or hostile: the decoder refuses it
 * before buffering anything of it, and the link is closed (a stream cannot be resynchronized).
 */

export const FRAME_HEADER_BYTES = 4;
/** Default bound on one message (a full-table anti-entropy reply for a large network fits well). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export function encodeFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.byteLength);
  frame.writeUInt32BE(message.byteLength, 0);
  frame.set(message, FRAME_HEADER_BYTES);
  return frame;
}

export class FrameTooLargeError extends Error {
  constructor(
    readonly length: number,
    readonly maxBytes: number,
  ) {
    super(`a gossip message of ${length} bytes exceeds the bound of ${maxBytes}`);
  }
}

export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** The messages completed by `chunk`, in order; throws FrameTooLargeError (and then must not be fed again). */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    const messages: Buffer[] = [];
    while (this.pendingBytes >= FRAME_HEADER_BYTES) {
      const length = this.peekLength();
      if (length > this.maxMessageBytes) throw new FrameTooLargeError(length, this.maxMessageBytes);
      if (this.pendingBytes < FRAME_HEADER_BYTES + length) break;
      const frame = this.take(FRAME_HEADER_BYTES + length);
      messages.push(frame.subarray(FRAME_HEADER_BYTES));
    }
    return messages;
  }

  private peekLength(): number {
    const first = this.pending[0];
    if (first !== undefined && first.byteLength >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    return Buffer.concat(this.pending, FRAME_HEADER_BYTES).readUInt32BE(0);
  }

  private take(bytes: number): Buffer {
    const joined = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    const taken = joined.subarray(0, bytes);
    const rest = joined.subarray(bytes);
    this.pending = rest.byteLength > 0 ? [rest] : [];
    this.pendingBytes = rest.byteLength;
    return taken;
  }
}
