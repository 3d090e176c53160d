import type { ChannelOptions } from '@grpc/grpc-js';
import { managerChannelOptions } from '../../../proto/runtime/tls';

/** Options of every client channel to a peer manager. */
export const peerChannelOptions: ChannelOptions = {
  ...managerChannelOptions,
  // A peer that vanished without closing its connection is found within ~4 s.
  'grpc.keepalive_time_ms': 2000,
  'grpc.keepalive_timeout_ms': 2000,
  'grpc.keepalive_permit_without_calls': 1,
  // grpc's own reconnect backoff grows to 2 minutes by default; a peer back up
  // must be reached within about a second, as our own stream backoff does.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  // Raft retransmits whatever is lost; gRPC retries would only buffer every
  // message a second time and hide the stream's backpressure from us.
  'grpc.enable_retries': 0,
};
