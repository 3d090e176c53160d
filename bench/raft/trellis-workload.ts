import { ConnectNetworkRequest, CreateNetworkRequest, CreateSandboxRequest } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest } from '../../proto/gen/trellis/v1/dispatcher';
import { joinedNodeCredentials } from '../../manager/cluster-clients';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';
import { encodeProposal } from '../../manager/cluster/proposal';
import { newId } from '../../manager/ids';
import type { Command } from '../../manager/store';
import type { TrellisCluster } from './trellis-cluster';
import type { Write } from './load';

const callTimeoutMs = 10_000;
/** Object names may be 63 characters: long names make every proposal carry its share of the payload. */
const nameLength = 63;
const networkName = pad('bench-net-');

function pad(prefix: string): string {
  return prefix.padEnd(nameLength, 'x');
}

function sandboxName(run: string, client: number): string {
  return pad(`bench-${run}-c${client}-`);
}

function proposalBytes(command: Command): number {
  return encodeProposal({ requestId: newId(), command }).length;
}

/**
 * Aliases that bring a connect proposal to `targetBytes`, as the manager encodes it
 * (manager/cluster/proposal.ts), so that connect and disconnect average ~256 bytes.
 */
function aliasesFor(client: number, targetBytes: number): string[] {
  const aliases: string[] = [];
  const connect = (): Command => ({ type: 'connect', endpointId: newId(), network: networkName, sandbox: sandboxName('r0', client), aliases });
  for (let i = 0; proposalBytes(connect()) < targetBytes; i++) aliases.push(`c${client}-alias-${i}.bench`);
  return aliases;
}

/** Mean bytes per proposal of this workload (one connect, one disconnect). */
export function meanProposalBytes(): number {
  const disconnect = proposalBytes({ type: 'disconnect', network: networkName, sandbox: sandboxName('r0', 0) });
  const connect = proposalBytes({ type: 'connect', endpointId: newId(), network: networkName, sandbox: sandboxName('r0', 0), aliases: aliasesFor(0, 512 - disconnect) });
  return (connect + disconnect) / 2;
}

/** One node and one network (a /16) that every run's sandboxes attach to. */
export async function prepareTrellis(cluster: TrellisCluster, leader: string): Promise<void> {
  // Registering a node takes a node certificate: one got with the worker token, as an agent's.
  const dispatcher = new DispatcherClient(leader, await joinedNodeCredentials(leader, cluster.adminDir, 'worker'), managerChannelOptions);
  try {
    await callUnary(dispatcher, (c) => c.register, RegisterRequest.fromPartial({ nodeName: 'bench-node', advertiseAddr: '198.18.0.1' }), callTimeoutMs);
  } finally {
    dispatcher.close();
  }
  const control = cluster.client(leader);
  const network = CreateNetworkRequest.fromPartial({ name: networkName, subnet: '10.200.0.0/16' });
  await callUnary(control, (c) => c.createNetwork, network, callTimeoutMs);
}

/**
 * The writes of one run: each client owns a sandbox and alternates connecting it
 * to the network (allocating an address, carrying DNS aliases) and disconnecting
 * it (freeing the address). Every call is one Raft commit, ~256 bytes on average.
 * Creates the run's sandboxes first (not timed).
 */
export async function trellisWrites(cluster: TrellisCluster, target: string, run: string, clients: number): Promise<Write> {
  const control = cluster.client(target);
  await Promise.all(
    Array.from({ length: clients }, (_, client) =>
      callUnary(control, (c) => c.createSandbox, CreateSandboxRequest.fromPartial({ name: sandboxName(run, client), node: 'bench-node' }), callTimeoutMs),
    ),
  );
  const disconnectBytes = proposalBytes({ type: 'disconnect', network: networkName, sandbox: sandboxName(run, 0) });
  const aliases = Array.from({ length: clients }, (_, client) => aliasesFor(client, 512 - disconnectBytes));
  return async (client, sequence) => {
    const sandbox = sandboxName(run, client);
    if (sequence % 2 === 0) {
      const request = ConnectNetworkRequest.fromPartial({ network: networkName, sandbox, aliases: aliases[client] ?? [] });
      await callUnary(control, (c) => c.connectNetwork, request, callTimeoutMs);
    } else {
      await callUnary(control, (c) => c.disconnectNetwork, { network: networkName, sandbox, force: false }, callTimeoutMs);
    }
  };
}
