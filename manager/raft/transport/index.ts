export { raftService, type RaftMemberHandlers } from './raft-service';
export { Transport, type TransportOptions } from './transport';
