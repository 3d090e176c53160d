import type { ListManagersResponse, ListNodesRequest, ListNodesResponse } from '../../proto/gen/trellis/v1/control';
import { Node } from '../../proto/gen/trellis/v1/types';
import { pageQuery, takePage } from '../api/pages';
import { fromStoreError, serviceError } from '../api/status';
import { revocationNow } from '../ca/revoked';
import { paged, type ManagerDirectory, type NodeDirectory } from '../api/control-service';
import type { Outcome } from '../api/unary';
import type { Dispatcher } from '../dispatcher/dispatcher-service';
import { managerReservations } from '../api/manager-ports';
import type { DhtAddress } from '../../proto/runtime/dht/dht-node';
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
    async programmedService(serviceId: string): Promise<Map<string, number>> {
      if (!cluster.isLeader()) {
        const service = await peers.getService(leaderOrUnavailable(cluster), serviceId);
        return new Map(service.programming.filter((node) => node.programmedRevision > 0).map((node) => [node.node, node.programmedRevision]));
      }
      return new Map(
        cluster.store.nodes().flatMap((node) => {
          const revision = dispatcher.programmedServices(node.id)[serviceId];
          return revision === undefined ? [] : [[node.name, revision] as const];
        }),
      );
    },
  };
}

/** `metricsAddress`: where this manager serves metrics, if it does; `gossipDht`: where its gossip DHT node listens. */
export function managerDirectory(cluster: RaftCluster, selfId: string, peers: PeerClients, metricsAddress?: string, gossipDht?: DhtAddress): ManagerDirectory {
  return {
    reservedPorts: () => managerReservations(Object.values(cluster.memberAddresses()), metricsAddress, gossipDht),

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
      // A manager's certificate names its member id (see memberId): revoked, it can neither rejoin nor call any manager.
      // Revoked first, because a leader removing itself exits once the removal applies; a revoked manager's
      // calls are refused only once it is no member (see managerRevocationCheck), so the removal can still commit.
      const revoke = async (nodeId: string) => {
        const revoked = await cluster.propose({ type: 'revokeNode', nodeId, ...revocationNow(cluster.store, 'removed by trellis manager leave') });
        if (!revoked.ok) throw fromStoreError(revoked.error);
      };
      await revoke(target);
      // A manager that joined before then holds a certificate of another id (its renewals recorded which): that
      // id is no member id, so it is revoked only once the removal committed (this leader, removing itself, exits first).
      const certificateId = cluster.store.managerCertificate(target)?.nodeId;
      await cluster.changeMembership({ type: 'removeNode', nodeId: target, context: '' });
      if (certificateId !== undefined && certificateId !== target && target !== selfId) await revoke(certificateId);
    },
  };
}
