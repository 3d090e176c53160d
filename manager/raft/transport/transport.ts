import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Message, NodeId } from '../core/types';
import { coalesceAppends } from './coalesce';
import { messageToProto } from './conversion';
import { PeerStream } from './peer-stream';
import { raftReceiver, type RaftReceiver } from './receiver';
import { sendSnapshot, type SnapshotSend } from './snapshot-sender';

export interface TransportOptions {
  self: NodeId;
  logger: Logger;
  /** How to reach peers: mTLS with this manager's certificate. */
  credentials: ChannelCredentials;
  /** Every message received, in the order each peer sent it. */
  onMessage(message: Message): void;
  /**
   * Messages to `peer` were dropped or may have been lost (for the core's
   * reportUnreachable). Like every callback here, never called from inside send().
   */
  onUnreachable(peer: NodeId): void;
  /** Whether a snapshot sent to `peer` arrived (for the core's reportSnapshot). */
  onSnapshotStatus(peer: NodeId, ok: boolean): void;
  /** Most snapshot bytes in one gRPC message; default 1 MiB, well under gRPC's 4 MiB receive limit. */
  chunkBytes?: number;
}

interface Peer {
  address: string;
  stream: PeerStream;
  snapshots: Set<SnapshotSend>;
}

const defaultChunkBytes = 1024 * 1024;

/**
 * Carries the Raft core's messages between managers over gRPC: one ordered stream
 * per peer, snapshots as separate chunked calls. Never blocks and never throws on
 * a peer's failure; it reports the failure, and Raft retransmits.
 */
export class Transport {
  private readonly peers = new Map<NodeId, Peer>();
  private readonly chunkBytes: number;
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly options: TransportOptions) {
    this.chunkBytes = options.chunkBytes ?? defaultChunkBytes;
    if (!Number.isInteger(this.chunkBytes) || this.chunkBytes < 1) {
      throw new RangeError(`chunkBytes must be a positive integer, not ${this.chunkBytes}`);
    }
    this.logger = options.logger.child({ component: 'raft-transport', self: options.self });
  }

  /** Adds a peer, or moves it to a new address. */
  setPeer(id: NodeId, address: string): void {
    const existing = this.peers.get(id);
    if (existing?.address === address) return;
    if (existing) this.closePeer(existing);
    const logger = this.logger.child({ peer: id, address });
    const onUnreachable = (): void => this.later(() => this.options.onUnreachable(id));
    const stream = new PeerStream({ address, credentials: this.options.credentials, logger, onUnreachable });
    this.peers.set(id, { address, stream, snapshots: new Set() });
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    this.closePeer(peer);
  }

  /** Queues messages for their peers, in order; returns at once. */
  send(messages: Message[]): void {
    const batches = new Map<Peer, Message[]>();
    for (const message of messages) {
      const peer = this.peers.get(message.to);
      if (!peer) {
        this.logger.debug({ to: message.to, type: message.type }, 'dropped a message to an unknown peer');
        // The core waits in snapshot state until told how its snapshot fared.
        if (message.type === 'snap') this.later(() => this.options.onSnapshotStatus(message.to, false));
      } else if (message.type === 'snap') {
        this.startSnapshot(message.to, peer, message);
      } else {
        const batch = batches.get(peer) ?? [];
        if (batch.length === 0) batches.set(peer, batch);
        batch.push(message);
      }
    }
    for (const [peer, batch] of batches) peer.stream.send(coalesceAppends(batch).map(messageToProto));
  }

  /** The Stream and SendSnapshot handlers for this manager's gRPC server (see raftService). */
  receiver(): RaftReceiver {
    const { self, onMessage } = this.options;
    return raftReceiver({ self, logger: this.logger, onMessage });
  }

  /** Ends every stream and snapshot in flight; no callback is made afterwards. */
  close(): void {
    this.closed = true;
    for (const peer of this.peers.values()) this.closePeer(peer);
    this.peers.clear();
  }

  private startSnapshot(id: NodeId, peer: Peer, message: Message): void {
    const send = sendSnapshot(peer.address, this.options.credentials, message, this.chunkBytes);
    peer.snapshots.add(send);
    send.applied
      .catch((error: unknown) => {
        this.logger.warn({ err: error, peer: id }, 'snapshot not delivered');
        return false;
      })
      .then((ok) => {
        peer.snapshots.delete(send);
        this.later(() => this.options.onSnapshotStatus(id, ok));
      });
  }

  /** Reports outside the caller's current step (the core may be mid-Ready), and never after close(). */
  private later(report: () => void): void {
    queueMicrotask(() => {
      if (!this.closed) report();
    });
  }

  private closePeer(peer: Peer): void {
    peer.stream.close();
    for (const send of peer.snapshots) send.cancel();
  }
}
