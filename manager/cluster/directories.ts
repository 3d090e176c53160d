import type { ListManagersResponse, ListNodesRequest, ListNodesResponse } from '../../proto/gen/trellis/v1/control';
import { Node } from '../../proto/gen/trellis/v1/types';
import { pageQuery, takePage } from '../api/pages';
import { serviceError } from '../api/status';
import { paged, type ManagerDirectory, type NodeDirectory } from '../api/control-service';
import type { Outcome } from '../api/unary';
import type { Dispatcher } from '../dispatcher/dispatcher-service';
import { managerReservations } from '../api/manager-ports';
import { ClusterUnavailableError } from './cluster-state';
import type { PeerClients } from './peer-clients';
import type { RaftCluster } from './raft-cluster';

function leaderOrUnavailable(cluster: RaftCluster): string {
  const leader = cluster.leaderAddress();
  if (leader === undefined) throw new ClusterUnavailableError('no leader: fewer than a quorum of managers are reachable');
  return leader;
}

/** Node liveness lives in the leader's dispatcher: followers ask the leader. */
export function nodeDirectory(cluster: RaftCluster, dispatcher: Dispatcher, peers: PeerClients): NodeDirectory {
  return {
    async list(): Promise<Node[]> {
      if (!cluster.isLeader()) return peers.listNodes(leaderOrUnavailable(cluster));
      await cluster.readBarrier();
      return cluster.store.nodes().map((node) => dispatcher.withLiveness(node));
    },
    async page(request: ListNodesRequest): Promise<Outcome<ListNodesResponse>> {
      if (!cluster.isLeader()) return peers.listNodesPage(leaderOrUnavailable(cluster), request);
      const query = pageQuery(request);
      if (query instanceof Error) return query;
      await cluster.readBarrier();
      const withLiveness = function* (after: string): Generator<Node> {
        for (const node of cluster.store.nodesAfter(after)) yield dispatcher.withLiveness(node);
      };
      return paged(takePage(withLiveness(query.after), query, Node, 'node'), (nodes) => ({ nodes }));
    },
  };
}

/** `metricsAddress`: where this manager serves metrics, if it does. */
export function managerDirectory(cluster: RaftCluster, selfId: string, peers: PeerClients, metricsAddress?: string): ManagerDirectory {
  return {
    reservedPorts: () => managerReservations(Object.values(cluster.memberAddresses()), metricsAddress),

    async list(): Promise<ListManagersResponse> {
      const status = cluster.status();
      const { voters, learners } = cluster.membership();
      const addresses = cluster.memberAddresses();
      const managers = [...voters.map((id) => ({ id, role: 'voter' })), ...learners.map((id) => ({ id, role: 'learner' }))]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map(({ id, role }) => ({
          id,
          address: addresses[id] ?? '',
          role,
          leader: id === status.softState.leader,
          matchIndex: status.progress?.[id]?.match ?? 0,
          appliedIndex: id === selfId ? status.applied : 0,
        }));
      return { managers, leaderId: status.softState.leader, term: status.hardState.term, answeredBy: selfId };
    },

    async remove(id: string): Promise<void> {
      const target = id || selfId;
      if (!cluster.isLeader()) return peers.removeManager(leaderOrUnavailable(cluster), target);
      const { voters, learners } = cluster.membership();
      if (!voters.includes(target) && !learners.includes(target)) {
        throw serviceError('NOT_FOUND', 'id', `id: no manager "${target}" in the cluster; see \`trellis manager ls\``);
      }
      if (voters.length === 1 && voters[0] === target) {
        throw serviceError('FAILED_PRECONDITION', 'id', `id: "${target}" is the last voting manager; removing it would end the cluster`);
      }
      await cluster.changeMembership({ type: 'removeNode', nodeId: target, context: '' });
    },
  };
}
