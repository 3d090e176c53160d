import type { ServiceError } from '@grpc/grpc-js';
import type { ControlServer } from '../../proto/gen/trellis/v1/control';
import type { Node } from '../../proto/gen/trellis/v1/types';
import { newId } from '../ids';
import type { ReplicatedState } from '../replicated-state';
import type { AppliedValue, Command } from '../store';
import { fromStoreError, notFound } from './status';
import { unary, type Outcome } from './unary';

/** What the dispatcher knows of nodes that the replicated store does not: liveness. */
export interface NodeLiveness {
  withLiveness(node: Node): Node;
}

export function controlService(state: ReplicatedState, liveness: NodeLiveness): ControlServer {
  const store = state.store;
  async function propose<C extends Command>(command: C): Promise<Outcome<AppliedValue<C>>> {
    const result = await state.propose(command);
    return result.ok ? result.value : fromStoreError(result.error);
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
    listNetworks: unary(() => ({ networks: store.networks() })),
    getNetwork: unary((request) =>
      found(store.network(request.network), () => notFound('network', 'network', request.network)),
    ),
    removeNetwork: unary(async (request) => {
      const outcome = await propose({ type: 'removeNetwork', network: request.network });
      return outcome instanceof Error ? outcome : {};
    }),

    createSandbox: unary((request) => propose({ type: 'createSandbox', id: newId(), name: request.name, node: request.node })),
    listSandboxes: unary(() => ({ sandboxes: store.sandboxes() })),
    getSandbox: unary((request) =>
      found(store.sandbox(request.sandbox), () => notFound('sandbox', 'sandbox', request.sandbox)),
    ),
    removeSandbox: unary(async (request) => {
      const outcome = await propose({ type: 'removeSandbox', sandbox: request.sandbox });
      return outcome instanceof Error ? outcome : {};
    }),

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
    disconnectNetwork: unary(async (request) => {
      const outcome = await propose({ type: 'disconnect', network: request.network, sandbox: request.sandbox });
      return outcome instanceof Error ? outcome : {};
    }),

    listNodes: unary(() => ({ nodes: store.nodes().map((node) => liveness.withLiveness(node)) })),
  };
}
