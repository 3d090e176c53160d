import type { ChannelCredentials } from '@grpc/grpc-js';
import { ControlClient, CreateNetworkRequest, CreateSandboxRequest, ConnectNetworkRequest } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest } from '../../proto/gen/trellis/v1/dispatcher';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';
import { inPool } from './pool';

/*
 * The bench's cluster: `nodes` nodes with `perNode` sandboxes each, one endpoint per sandbox.
 * All but one of a node's sandboxes sit on `networksPerNode` of `regional` "regional" networks
 * (neighbouring nodes share them, so each regional network spans a band of nodes); the last one
 * sits on the "wide" network that every node hosts. Every object goes through the Control and
 * Dispatcher APIs, so through Raft and the store's apply, like any user's.
 */
export interface Layout {
  nodes: number;
  perNode: number;
  regional: number;
  networksPerNode: number;
}

export const wideNetwork = 'wide';
const callTimeoutMs = 60_000;
const inFlight = 64;

export function regionalName(index: number): string {
  return `regional-${index}`;
}

export function nodeName(index: number): string {
  return `n${String(index).padStart(4, '0')}`;
}

/** The network sandbox `slot` of node `node` is connected to. */
export function networkOf(layout: Layout, node: number, slot: number): string {
  if (slot === layout.perNode - 1) return wideNetwork;
  return regionalName((node + (slot % layout.networksPerNode)) % layout.regional);
}

/** Indexes of the nodes with at least one endpoint on regional network `network`. */
export function nodesOnRegional(layout: Layout, network: number): number[] {
  const hosts: number[] = [];
  for (let node = 0; node < layout.nodes; node++) {
    for (let offset = 0; offset < layout.networksPerNode; offset++) {
      if ((node + offset) % layout.regional === network) {
        hosts.push(node);
        break;
      }
    }
  }
  return hosts;
}

export function endpointCount(layout: Layout): number {
  return layout.nodes * layout.perNode;
}

/** Registers the nodes with a node certificate's `nodeCredentials`; returns their ids, index by index. */
export async function registerNodes(address: string, nodeCredentials: ChannelCredentials, layout: Layout): Promise<string[]> {
  const dispatcher = new DispatcherClient(address, nodeCredentials, managerChannelOptions);
  const ids: string[] = new Array<string>(layout.nodes).fill('');
  try {
    await inPool(layout.nodes, inFlight, async (index) => {
      // Distinct VTEPs (in the lab's 198.18.0.0/15; managers refuse loopback ones): each node's endpoints then differ in their view entries, as on a real cluster.
      const advertiseAddr = `198.18.${Math.floor(index / 250)}.${(index % 250) + 1}`;
      const answer = await callUnary(dispatcher, (c) => c.register, RegisterRequest.fromPartial({ nodeName: nodeName(index), advertiseAddr }), callTimeoutMs);
      ids[index] = answer.nodeId;
    });
  } finally {
    dispatcher.close();
  }
  return ids;
}

/** Networks, sandboxes and endpoints of the layout; 64 calls in flight. */
export async function createObjects(control: ControlClient, layout: Layout): Promise<void> {
  const networks = [wideNetwork, ...Array.from({ length: layout.regional }, (_, i) => regionalName(i))];
  await inPool(networks.length, inFlight, async (index) => {
    // /16s: a regional network holds up to ~65k endpoints, far more than the layout puts there.
    const request = CreateNetworkRequest.fromPartial({ name: networks[index] ?? '', subnet: `10.${100 + index}.0.0/16` });
    await callUnary(control, (c) => c.createNetwork, request, callTimeoutMs);
  });
  await inPool(endpointCount(layout), inFlight, async (index) => {
    const node = Math.floor(index / layout.perNode);
    const slot = index % layout.perNode;
    const sandbox = `s${node}-${slot}`;
    await callUnary(control, (c) => c.createSandbox, CreateSandboxRequest.fromPartial({ name: sandbox, node: nodeName(node) }), callTimeoutMs);
    const request = ConnectNetworkRequest.fromPartial({ network: networkOf(layout, node, slot), sandbox });
    await callUnary(control, (c) => c.connectNetwork, request, callTimeoutMs);
  });
}
