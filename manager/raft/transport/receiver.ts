import { Metadata, status, type sendUnaryData, type ServerReadableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RaftMessage, RaftServer, SnapshotChunk } from '../../../proto/gen/trellis/v1/raft';
import type { Message, NodeId } from '../core/types';
import { messageFromProto } from './conversion';
import { SnapshotAssembler } from './snapshot-chunks';

export interface ReceiverOptions {
  self: NodeId;
  logger: Logger;
  onMessage(message: Message): void;
}

export type RaftReceiver = Pick<RaftServer, 'stream' | 'sendSnapshot'>;

/**
 * The receiving half of the Raft service: each Stream's messages are handed to
 * `onMessage` in the order sent; a SendSnapshot's chunks are reassembled and handed
 * over as one 'snap' message. A call carrying anything malformed, or addressed to
 * another member, is rejected with INVALID_ARGUMENT and the rest of it ignored.
 */
export function raftReceiver(options: ReceiverOptions): RaftReceiver {
  const addressedHere = (message: Message): Message => {
    if (message.to !== options.self) throw new Error(`a message for "${message.to}" reached "${options.self}"`);
    return message;
  };

  function readInOrder<Req, Res>(
    call: ServerReadableStream<Req, Res>,
    callback: sendUnaryData<Res>,
    take: (request: Req) => void,
    finish: () => Res,
  ): void {
    let rejected = false;
    const run = (step: () => void): void => {
      if (rejected) return;
      try {
        step();
      } catch (error) {
        rejected = true;
        const details = error instanceof Error ? error.message : String(error);
        options.logger.warn({ peer: call.getPeer(), path: call.getPath(), details }, 'rejected a raft call');
        callback({ code: status.INVALID_ARGUMENT, details });
      }
    };
    call.on('data', (request: Req) => run(() => take(request)));
    call.on('end', () => run(() => callback(null, finish())));
  }

  return {
    stream(call, callback) {
      // Headers right away: the sender holds its messages until it sees them.
      call.sendMetadata(new Metadata());
      let received = 0;
      readInOrder(
        call,
        callback,
        (proto: RaftMessage) => {
          options.onMessage(addressedHere(messageFromProto(proto)));
          received += 1;
        },
        () => ({ received }),
      );
    },

    sendSnapshot(call, callback) {
      const assembler = new SnapshotAssembler();
      readInOrder(
        call,
        callback,
        (chunk: SnapshotChunk) => assembler.add(chunk),
        () => {
          options.onMessage(addressedHere(assembler.message()));
          return { applied: true };
        },
      );
    },
  };
}
