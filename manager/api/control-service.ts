import type { ServiceError } from '@grpc/grpc-js';
import type { ControlServer, ListManagersResponse } from '../../proto/gen/trellis/v1/control';
import type { Node } from '../../proto/gen/trellis/v1/types';
import type { ClusterState } from '../cluster/cluster-state';
import { newId } from '../ids';
import type { AppliedValue, Command } from '../store';
import { fromStoreError, notFound } from './status';
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

export function controlService(state: ClusterState, nodes: NodeDirectory, managers: ManagerDirectory): ControlServer {
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

  return {
    createNetwork: unary((request) =>
      propose({
        type: 'createNetwork',
        id: newId(),
        name: request.name,
        driver: request.driver,
        subnet: request.subnet,
        gateway: request.gateway || undefined,
        ipRange: request.ipRange || undefined,
      }),
    ),
    listNetworks: unary(() => read(() => ({ networks: state.store.networks() }))),
    getNetwork: unary((request) =>
      read(() => found(state.store.network(request.network), () => notFound('network', 'network', request.network))),
    ),
    removeNetwork: unary((request) => removal({ type: 'removeNetwork', network: request.network })),

    createSandbox: unary((request) => propose({ type: 'createSandbox', id: newId(), name: request.name, node: request.node })),
    listSandboxes: unary(() => read(() => ({ sandboxes: state.store.sandboxes() }))),
    getSandbox: unary((request) =>
      read(() => found(state.store.sandbox(request.sandbox), () => notFound('sandbox', 'sandbox', request.sandbox))),
    ),
    removeSandbox: unary((request) => removal({ type: 'removeSandbox', sandbox: request.sandbox })),

    connectNetwork: unary((request) =>
      propose({
        type: 'connect',
        endpointId: newId(),
        network: request.network,
        sandbox: request.sandbox,
        ip: request.ip || undefined,
        aliases: request.aliases,
      }),
    ),
    disconnectNetwork: unary((request) => removal({ type: 'disconnect', network: request.network, sandbox: request.sandbox })),

    listNodes: unary(async () => ({ nodes: await nodes.list() })),
    listManagers: unary(() => managers.list()),
    removeManager: unary(async (request) => {
      await managers.remove(request.id);
      return {};
    }),
  };
}
