import type { JoinRequest, JoinResponse, ProposeRequest, ProposeResponse } from '../../proto/gen/trellis/v1/raft';
import { fromStoreError, serviceError } from '../api/status';
import { unary } from '../api/unary';
import type { ClusterKey } from '../secrets/cluster-key';
import { checkCommand } from '../store';
import { ClusterUnavailableError } from './cluster-state';
import { parseJsonBytes, toJsonBytes } from './json-bytes';
import type { PeerClients } from './peer-clients';
import type { RaftCluster } from './raft-cluster';

/** The manager-to-manager calls that are not Raft messages: joining, and writes forwarded by followers. */
export function clusterHandlers(cluster: RaftCluster, peers: PeerClients, clusterKey: ClusterKey) {
  async function join(request: JoinRequest): Promise<JoinResponse> {
    if (!request.memberId || !request.address) {
      throw serviceError('INVALID_ARGUMENT', request.memberId ? 'address' : 'member_id', 'member_id and address are required to join');
    }
    if (!cluster.isLeader()) {
      const leader = cluster.leaderAddress();
      if (leader === undefined) throw new ClusterUnavailableError('no leader to join through yet');
      return peers.join(leader, request);
    }
    if (!(request.memberId in cluster.memberAddresses())) {
      await cluster.changeMembership({ type: 'addLearner', nodeId: request.memberId, context: request.address });
    }
    const { learners } = cluster.membership();
    // Raft is open to manager certificates only: the joiner gets the data key (and the unlock key under autolock) to keep its own file.
    await cluster.readBarrier();
    const security = cluster.store.security();
    return {
      members: Object.entries(cluster.memberAddresses()).map(([id, address]) => ({ id, address, learner: learners.includes(id) })),
      dataKey: clusterKey.bytes(),
      unlockKey: (security && clusterKey.unlockKey(security)) ?? '',
    };
  }

  /** Checked before anything else, leader or not: a malformed command must never reach the log. */
  async function propose(request: ProposeRequest): Promise<ProposeResponse> {
    const decoded = parseJsonBytes(request.command);
    if (decoded === undefined) throw serviceError('INVALID_ARGUMENT', 'command', 'command: not JSON; send a store command as UTF-8 JSON');
    const command = checkCommand(decoded);
    if (!command.ok) throw fromStoreError(command.error);
    if (!cluster.isLeader()) throw new ClusterUnavailableError('this manager no longer leads; retry');
    const result = await cluster.proposeHere(command.value);
    return { result: toJsonBytes(result) };
  }

  return { join: unary(join), propose: unary(propose) };
}
