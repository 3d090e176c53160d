import type { RaftServer } from '../../../proto/gen/trellis/v1/raft';
import type { RaftReceiver } from './receiver';
import type { Transport } from './transport';

/** The service's own method names; RaftServer's string index signature would swallow them in an Omit. */
type MethodName = keyof { [K in keyof RaftServer as string extends K ? never : K]: RaftServer[K] };

/** The Raft service's calls that are not the transport's (Join, Propose, ...): the caller's to answer. */
export type RaftMemberHandlers = Pick<RaftServer, Exclude<MethodName, keyof RaftReceiver>>;

/** The whole Raft service: the transport receives messages and snapshots, `handlers` answer the rest. */
export function raftService(transport: Transport, handlers: RaftMemberHandlers): RaftServer {
  return { ...handlers, ...transport.receiver() };
}
