import type { ChannelCredentials } from '@grpc/grpc-js';
import { RaftClient } from '../../../proto/gen/trellis/v1/raft';
import type { Message } from '../core/types';
import { peerChannelOptions } from './channel-options';
import { snapshotChunks } from './snapshot-chunks';

export interface SnapshotSend {
  /** Resolves with whether the peer took the snapshot; rejects when the call fails. */
  applied: Promise<boolean>;
  cancel(): void;
}

/**
 * Streams a 'snap' message to `address` in chunks of at most `chunkBytes`, each
 * written when the call has room for it. The call has a connection of its own, so
 * a large snapshot does not hold up the peer's ordered message stream.
 */
export function sendSnapshot(address: string, credentials: ChannelCredentials, message: Message, chunkBytes: number): SnapshotSend {
  const client = new RaftClient(address, credentials, {
    ...peerChannelOptions,
    'grpc.use_local_subchannel_pool': 1,
  });
  let cancel = (): void => {};
  const applied = new Promise<boolean>((resolve, reject) => {
    const call = client.sendSnapshot((error, receipt) => (error ? reject(error) : resolve(receipt.applied)));
    cancel = () => call.cancel();
    const chunks = snapshotChunks(message, chunkBytes);
    const writeMore = (): void => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!call.write(next.value)) {
          call.once('drain', writeMore);
          return;
        }
      }
      call.end();
    };
    writeMore();
  }).finally(() => client.close());
  return { applied, cancel };
}
