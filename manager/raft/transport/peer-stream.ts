import type { ChannelCredentials, ClientWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RaftClient, type RaftMessage } from '../../../proto/gen/trellis/v1/raft';
import { peerChannelOptions } from './channel-options';

export interface PeerStreamOptions {
  /** HOST:PORT the peer serves the Raft service on. */
  address: string;
  /** mTLS with this manager's certificate (insecure only in the transport's own tests). */
  credentials: ChannelCredentials;
  logger: Logger;
  /** Messages to the peer were, or may have been, lost. Called at most once per 100 ms. */
  onUnreachable(): void;
}

/** Messages held while the stream opens or drains; beyond this, new ones are dropped. */
export const maxQueuedMessages = 4096;
const minReportIntervalMs = 100;
const firstRetryMs = 50;
const maxRetryMs = 1000;

/**
 * One long-lived Stream call to a peer. Messages are written in the order given,
 * as many as the stream takes without waiting on each; the rest wait (bounded)
 * until the peer accepts the stream or it drains. A stream that breaks is reopened
 * with backoff; what it lost, and what is sent while no stream is open, is dropped
 * (Raft retransmits) and reported as the peer being unreachable.
 */
export class PeerStream {
  private readonly client: RaftClient;
  private stream: ClientWritableStream<RaftMessage> | undefined;
  /** When the peer answered the current stream with its headers (it is there and reading); unset before. */
  private acceptedAtMs: number | undefined;
  private draining = false;
  private queue: RaftMessage[] = [];
  private retryMs = firstRetryMs;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastReportMs = -Infinity;

  constructor(private readonly options: PeerStreamOptions) {
    this.client = new RaftClient(options.address, options.credentials, peerChannelOptions);
    this.open();
  }

  send(messages: RaftMessage[]): void {
    if (this.stream === undefined) {
      this.drop(messages.length, 'no stream to the peer');
      return;
    }
    const room = maxQueuedMessages - this.queue.length;
    if (messages.length > room) this.drop(messages.length - room, 'send queue full');
    for (const message of messages.slice(0, room)) this.queue.push(message);
    this.flush();
  }

  /** Ends the stream; messages not yet written are dropped. */
  close(): void {
    clearTimeout(this.retryTimer);
    const stream = this.stream;
    this.stream = undefined;
    this.queue = [];
    stream?.end();
    this.client.close();
  }

  private open(): void {
    const stream = this.client.stream((error) => this.ended(stream, error ?? new Error('the peer ended the stream')));
    this.stream = stream;
    this.acceptedAtMs = undefined;
    this.draining = false;
    stream.on('metadata', () => {
      if (stream !== this.stream) return;
      this.acceptedAtMs = performance.now();
      this.options.logger.debug('stream to peer open');
      this.flush();
    });
    stream.on('drain', () => {
      if (stream !== this.stream) return;
      this.draining = false;
      this.flush();
    });
  }

  private flush(): void {
    const stream = this.stream;
    if (stream === undefined || this.acceptedAtMs === undefined || this.draining) return;
    let written = 0;
    while (written < this.queue.length && !this.draining) {
      this.draining = !stream.write(this.queue[written]);
      written += 1;
    }
    this.queue.splice(0, written);
  }

  private ended(stream: ClientWritableStream<RaftMessage>, error: Error): void {
    if (stream !== this.stream) return;
    const { acceptedAtMs } = this;
    // Messages written to an accepted stream may have died with it.
    const lostMessages = acceptedAtMs !== undefined || this.queue.length > 0;
    this.stream = undefined;
    this.queue = [];
    // Only a stream that lasted restarts the backoff: a peer that accepts and then
    // breaks every stream at once is retried ever more slowly, like an absent one.
    if (acceptedAtMs !== undefined && performance.now() - acceptedAtMs >= maxRetryMs) this.retryMs = firstRetryMs;
    if (lostMessages) {
      this.options.logger.warn({ err: error, retryMs: this.retryMs }, 'stream to peer lost; reopening');
      this.reportUnreachable();
    } else {
      this.options.logger.debug({ err: error, retryMs: this.retryMs }, 'peer still unreachable');
    }
    this.retryTimer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
  }

  private drop(count: number, reason: string): void {
    this.options.logger.debug({ count, reason }, 'dropped messages to peer');
    this.reportUnreachable();
  }

  private reportUnreachable(): void {
    const now = performance.now();
    if (now - this.lastReportMs < minReportIntervalMs) return;
    this.lastReportMs = now;
    this.options.onUnreachable();
  }
}
