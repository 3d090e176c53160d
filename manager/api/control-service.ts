import type { ServiceError } from '@grpc/grpc-js';
import type { ControlServer, JoinTokens, ListManagersResponse } from '../../proto/gen/trellis/v1/control';
import { newJoinSecret } from '../../proto/runtime/tls';
import { joinToken } from '../ca/cluster-init';
import { NodeStatus, type Endpoint, type Node } from '../../proto/gen/trellis/v1/types';
import type { ClusterState } from '../cluster/cluster-state';
import { newId } from '../ids';
import type { ClusterKey } from '../secrets/cluster-key';
import type { AppliedValue, Command } from '../store';
import { autolockService } from './autolock-service';
import { endpointReadiness } from './readiness';
import { fromStoreError, notFound, serviceError } from './status';
import { unary, type Outcome } from './unary';

/** Nodes with their liveness, which only the leader's dispatcher knows. */
export interface NodeDirectory {
  list(): Promise<Node[]>;
}

/** The managers themselves: Raft membership as this manager sees it. */
export interface ManagerDirectory {
  list(): Promise<ListManagersResponse>;
  /** Removes a manager through the log; '' means the one answering. */
  remove(id: string): Promise<void>;
}

export function controlService(state: ClusterState, nodes: NodeDirectory, managers: ManagerDirectory, clusterKey: ClusterKey): ControlServer {
  async function propose<C extends Command>(command: C): Promise<Outcome<AppliedValue<C>>> {
    const result = await state.propose(command);
    return result.ok ? result.value : fromStoreError(result.error);
  }
  async function removal<C extends Command>(command: C): Promise<Outcome<Record<string, never>>> {
    const outcome = await propose(command);
    return outcome instanceof Error ? outcome : {};
  }
  /** Reads are linearizable: the local replica answers once it has applied everything committed before. */
  async function read<T>(query: () => Outcome<T>): Promise<Outcome<T>> {
    await state.readBarrier();
    return query();
  }
  const found = <T>(value: T | undefined, missing: () => ServiceError): Outcome<T> => value ?? missing();
  /** An inspected object with its endpoints' `ready` filled in from the agents' reports (which the leader holds). */
  async function withReadiness<T>(outcome: Outcome<T>, endpointsOf: (value: T) => Endpoint[]): Promise<Outcome<T>> {
    if (outcome instanceof Error) return outcome;
    const endpoints = endpointsOf(outcome);
    if (endpoints.length === 0) return outcome;
    const hosts = new Map<string, Set<string>>();
    const hostsOf = (networkId: string): Set<string> => {
      let names = hosts.get(networkId);
      if (!names) {
        names = state.store.networkHosts(networkId);
        hosts.set(networkId, names);
      }
      return names;
    };
    const isReady = endpointReadiness(await nodes.list(), hostsOf);
    for (const endpoint of endpoints) endpoint.ready = isReady(endpoint);
    return outcome;
  }
  /** A node as listed with its liveness (by exact id first, then name, like every reference). */
  async function nodeWithLiveness(reference: string): Promise<Node | undefined> {
    const listed = await nodes.list();
    return listed.find((node) => node.id === reference) ?? listed.find((node) => node.name === reference);
  }

  return {
    createNetwork: unary((request) =>
      propose({
        type: 'createNetwork',
        id: newId(),
        name: request.name,
        driver: request.driver,
        subnet: request.subnet,
        gateway: request.gateway,
        ipRange: request.ipRange,
        ipam: request.ipam,
        internal: request.internal,
        attachable: request.attachable,
        mtu: request.mtu,
        labels: request.labels,
        vni: request.vni,
      }),
    ),
    listNetworks: unary(() => read(() => ({ networks: state.store.networks() }))),
    getNetwork: unary(async (request) =>
      withReadiness(
        await read(() => found(state.store.network(request.network), () => notFound('network', 'network', request.network))),
        (network) => network.endpoints,
      ),
    ),
    removeNetwork: unary((request) => removal({ type: 'removeNetwork', network: request.network })),

    createSandbox: unary((request) =>
      propose({ type: 'createSandbox', id: newId(), name: request.name, node: request.node, netns: request.netns }),
    ),
    listSandboxes: unary(() => read(() => ({ sandboxes: state.store.sandboxes() }))),
    getSandbox: unary(async (request) =>
      withReadiness(
        await read(() => found(state.store.sandbox(request.sandbox), () => notFound('sandbox', 'sandbox', request.sandbox))),
        (sandbox) => sandbox.endpoints,
      ),
    ),
    removeSandbox: unary((request) => removal({ type: 'removeSandbox', sandbox: request.sandbox })),

    connectNetwork: unary((request) =>
      propose({
        type: 'connect',
        endpointId: newId(),
        network: request.network,
        sandbox: request.sandbox,
        ip: request.ip,
        aliases: request.aliases,
        mac: request.mac,
        hostname: request.hostname,
        extraHosts: request.extraHosts,
        dns: request.dns,
        service: request.service,
        publishedPorts: request.publishedPorts,
      }),
    ),
    disconnectNetwork: unary((request) => removal({ type: 'disconnect', network: request.network, sandbox: request.sandbox })),

    listNodes: unary(async () => ({ nodes: await nodes.list() })),
    getNode: unary(async (request) => found(await nodeWithLiveness(request.node), () => notFound('node', 'node', request.node))),
    updateNode: unary(async (request) => {
      const outcome = await propose({
        type: 'updateNode',
        node: request.node,
        availability: request.availability,
        labelAdd: request.labelAdd,
        labelRm: request.labelRm,
      });
      return outcome instanceof Error ? outcome : ((await nodeWithLiveness(outcome.id)) ?? outcome);
    }),
    removeNode: unary(async (request) => {
      const node = await nodeWithLiveness(request.node);
      if (!node) return notFound('node', 'node', request.node);
      // Liveness is not replicated, so the store cannot check it: removing a node whose agent still runs would orphan its data plane.
      if (node.status === NodeStatus.NODE_STATUS_READY && !request.force) {
        return serviceError(
          'FAILED_PRECONDITION',
          'force',
          `force: node "${node.name}" is ready (its agent holds a session); stop its agent or pass --force`,
        );
      }
      return removal({ type: 'removeNode', node: node.id });
    }),

    createService: unary((request) =>
      propose({
        type: 'createService',
        id: newId(),
        name: request.name,
        networks: request.networks,
        endpointMode: request.endpointMode,
        ports: request.ports,
        labels: request.labels,
      }),
    ),
    listServices: unary(() => read(() => ({ services: state.store.services() }))),
    getService: unary(async (request) =>
      withReadiness(
        await read(() => found(state.store.service(request.service), () => notFound('service', 'service', request.service))),
        (service) => service.backends,
      ),
    ),
    removeService: unary((request) => removal({ type: 'removeService', service: request.service })),

    listManagers: unary(() => managers.list()),
    removeManager: unary(async (request) => {
      await managers.remove(request.id);
      return {};
    }),

    getJoinTokens: unary(() => read(() => joinTokens())),
    rotateJoinToken: unary(async (request) => {
      if (request.role !== 'worker' && request.role !== 'manager') {
        return serviceError('INVALID_ARGUMENT', 'role', `role: "${request.role}" is no join role; give worker or manager`);
      }
      const sealed = state.store.security();
      if (!sealed) return noJoinTokens();
      const outcome = await propose({ type: 'rotateJoinSecret', role: request.role, sealedSecret: clusterKey.sealJoinSecret(sealed.clusterId, request.role, newJoinSecret()) });
      return outcome instanceof Error ? outcome : joinTokens();
    }),

    ...autolockService(state, clusterKey),
  };

  function noJoinTokens(): ServiceError {
    return serviceError('FAILED_PRECONDITION', '', 'this cluster was created without a CA; it has no join tokens');
  }

  function joinTokens(): Outcome<JoinTokens> {
    const sealed = state.store.security();
    if (!sealed) return noJoinTokens();
    const security = clusterKey.openSecrets(sealed);
    return { worker: joinToken(security, 'worker'), manager: joinToken(security, 'manager') };
  }
}
