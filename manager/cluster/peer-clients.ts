import { status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { ControlClient, type ListNodesRequest, type ListNodesResponse } from '../../proto/gen/trellis/v1/control';
import { RaftClient, type JoinRequest, type JoinResponse } from '../../proto/gen/trellis/v1/raft';
import type { Node, Service } from '../../proto/gen/trellis/v1/types';
import { allPages } from '../../proto/runtime/pages';
import { callUnary } from '../../proto/runtime/unary-call';
import type { ApplyResult, Command } from '../store';
import { ClusterUnavailableError } from './cluster-state';
import { fromJsonBytes, toJsonBytes } from './json-bytes';
import type { LeaderForwarder } from './raft-cluster';

const forwardTimeoutMs = 10_000;

/** gRPC clients to the other managers, one per address: forwarded writes, joins, and leader-only calls. */
export class PeerClients implements LeaderForwarder {
  private readonly raftClients = new Map<string, RaftClient>();
  private readonly controlClients = new Map<string, ControlClient>();

  /** `credentials`: mTLS with this manager's certificate. */
  constructor(private readonly credentials: ChannelCredentials) {}

  async propose(leaderAddress: string, command: Command): Promise<ApplyResult> {
    const reply = await toLeader(leaderAddress, callUnary(this.raft(leaderAddress), (c) => c.propose, { command: toJsonBytes(command) }, forwardTimeoutMs));
    return fromJsonBytes<ApplyResult>(reply.result);
  }

  join(address: string, request: JoinRequest): Promise<JoinResponse> {
    return toLeader(address, callUnary(this.raft(address), (c) => c.join, request, forwardTimeoutMs));
  }

  /** Every node, page after page. */
  listNodes(leaderAddress: string): Promise<Node[]> {
    return allPages(async (pageToken) => {
      const page = await this.listNodesPage(leaderAddress, { pageSize: 0, pageToken });
      return { items: page.nodes, nextPageToken: page.nextPageToken };
    });
  }

  listNodesPage(leaderAddress: string, request: ListNodesRequest): Promise<ListNodesResponse> {
    return toLeader(leaderAddress, callUnary(this.control(leaderAddress), (c) => c.listNodes, request, forwardTimeoutMs));
  }

  /** GetService as the leader answers it: only the leader knows what the agents programmed. */
  getService(leaderAddress: string, serviceId: string): Promise<Service> {
    return toLeader(leaderAddress, callUnary(this.control(leaderAddress), (c) => c.getService, { service: serviceId }, forwardTimeoutMs));
  }

  async removeManager(leaderAddress: string, id: string): Promise<void> {
    await toLeader(leaderAddress, callUnary(this.control(leaderAddress), (c) => c.removeManager, { id }, forwardTimeoutMs));
  }

  close(): void {
    for (const client of [...this.raftClients.values(), ...this.controlClients.values()]) client.close();
    this.raftClients.clear();
    this.controlClients.clear();
  }

  private raft(address: string): RaftClient {
    return cached(this.raftClients, address, () => new RaftClient(address, this.credentials, managerChannelOptions));
  }

  private control(address: string): ControlClient {
    return cached(this.controlClients, address, () => new ControlClient(address, this.credentials, managerChannelOptions));
  }
}

/**
 * A leader that does not answer is most likely gone and being replaced: say so,
 * rather than pass on a connection error the client would take for its own.
 */
async function toLeader<T>(address: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const failure = error as ServiceError;
    if (failure.code !== status.UNAVAILABLE && failure.code !== status.DEADLINE_EXCEEDED) throw error;
    throw new ClusterUnavailableError(`the leader at ${address} did not answer (${failure.details}); a new leader is being elected, retry`);
  }
}

function cached<T>(clients: Map<string, T>, address: string, make: () => T): T {
  let client = clients.get(address);
  if (!client) {
    client = make();
    clients.set(address, client);
  }
  return client;
}
