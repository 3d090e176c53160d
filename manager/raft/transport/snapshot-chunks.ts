import type { RaftMessage, SnapshotChunk } from '../../../proto/gen/trellis/v1/raft';
import type { Message } from '../core/types';
import { asBuffer, messageFromProto, messageToProto } from './conversion';

/**
 * A 'snap' message as SendSnapshot chunks, so that no gRPC message grows with the
 * store: the first chunk carries the message (with the snapshot's metadata), every
 * chunk at most `chunkBytes` of data at consecutive offsets, the last is marked.
 * An empty snapshot is one empty last chunk. Chunks view the data without copying.
 */
export function* snapshotChunks(message: Message, chunkBytes: number): Generator<SnapshotChunk> {
  if (!message.snapshot) throw new Error(`a ${message.type} message has no snapshot to send`);
  const { data } = message.snapshot;
  let offset = 0;
  do {
    const end = Math.min(offset + chunkBytes, data.byteLength);
    yield {
      message: offset === 0 ? messageToProto(message) : undefined,
      data: asBuffer(data.subarray(offset, end)),
      offset,
      last: end === data.byteLength,
    };
    offset = end;
  } while (offset < data.byteLength);
}

/** Rebuilds a 'snap' message from its chunks, refusing any that do not continue it. */
export class SnapshotAssembler {
  private header: RaftMessage | undefined;
  private readonly parts: Buffer[] = [];
  private receivedBytes = 0;
  private complete = false;

  add(chunk: SnapshotChunk): void {
    if (this.complete) throw new Error('snapshot chunk after the last one');
    if (chunk.offset !== this.receivedBytes) {
      throw new Error(`snapshot chunk at offset ${chunk.offset}, expected ${this.receivedBytes}`);
    }
    if (this.header === undefined) {
      if (chunk.message?.snapshotMetadata === undefined) {
        throw new Error('the first snapshot chunk must carry the message and its snapshot metadata');
      }
      this.header = chunk.message;
    } else if (chunk.message !== undefined) {
      throw new Error('only the first snapshot chunk carries the message');
    }
    this.parts.push(chunk.data);
    this.receivedBytes += chunk.data.byteLength;
    this.complete = chunk.last;
  }

  /** The whole message; throws unless the last chunk has arrived. */
  message(): Message {
    if (!this.complete || this.header === undefined) throw new Error('snapshot ended before its last chunk');
    return messageFromProto(this.header, Buffer.concat(this.parts, this.receivedBytes));
  }
}
