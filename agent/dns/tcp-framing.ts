/**
 * DNS over TCP (RFC 1035 §4.2.2): each message is preceded by its length in two bytes, and a
 * client may send several on one connection, split or joined however the stream delivers them.
 */

const LENGTH_BYTES = 2;

/** Collects a connection's bytes and hands out each whole message as soon as it is complete. */
export class TcpFrames {
  private pending: Buffer = Buffer.alloc(0);

  /** The messages completed by `chunk`, in order, without their length prefix. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    while (this.pending.length >= LENGTH_BYTES) {
      const end = LENGTH_BYTES + this.pending.readUInt16BE(0);
      if (this.pending.length < end) break;
      messages.push(this.pending.subarray(LENGTH_BYTES, end));
      this.pending = this.pending.subarray(end);
    }
    return messages;
  }
}

/** A reply as TCP carries it; one longer than the prefix can say is not sendable (undefined). */
export function tcpFrame(message: Buffer): Buffer | undefined {
  if (message.length > 0xffff) return undefined;
  const prefix = Buffer.alloc(LENGTH_BYTES);
  prefix.writeUInt16BE(message.length);
  return Buffer.concat([prefix, message]);
}
