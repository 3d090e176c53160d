/**
 * DNS over TCP frames each message with its length in two bytes (RFC 1035 4.2.2): the only bytes
 * of the wire format written here, everything inside a message is dns-packet's.
 */
export const MAX_TCP_MESSAGE = 0xffff;

export function framed(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

/** Collects a TCP stream's chunks and hands out each whole message as soon as it is in. */
export class TcpMessages {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    while (this.pending.length >= 2) {
      const end = 2 + this.pending.readUInt16BE(0);
      if (this.pending.length < end) break;
      messages.push(this.pending.subarray(2, end));
      this.pending = this.pending.subarray(end);
    }
    return messages;
  }
}
