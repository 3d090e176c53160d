import type { Node } from '../../proto/gen/trellis/v1/types';
import type { RegisterNode, RemoveNode, SetNodeGossipKey, UpdateNode } from './commands';
import { fail, notFound, ok, type Result } from './errors';
import { checkLabels, checkName, checkNewId, checkUsableSubnet, parseAdvertiseAddr, parseCidrField } from './fields';
import { formatCidr } from '../../proto/runtime/ipv4';
import { networkOverlapping } from './gateway-subnets';
import { checkReservedPorts } from './reserved-ports';
import { checkHostReport } from './host-links';
import { type NodeAvailability, type NodeRecord, type StoreState } from './state';
import { toNode } from './views';
import { checkRevocation, revoke } from './revocations';

const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'drain'];

/** A node that re-registers (after a restart, or with a new address) keeps its id, sandboxes, availability and labels. */
export function registerNode(state: StoreState, command: RegisterNode): Result<Node> {
  const name = checkName('node', command.name);
  if (!name.ok) return name;
  const address = parseAdvertiseAddr(command.advertiseAddr);
  if (!address.ok) return address;
  const nodeId = state.nodes.byName(command.name)?.id ?? command.id;
  const gatewaySubnet = command.gatewaySubnet ? checkGatewaySubnet(state, nodeId, command.name, command.gatewaySubnet) : ok(undefined);
  if (!gatewaySubnet.ok) return gatewaySubnet;
  const reservedPorts = checkReservedPorts(command.reservedPorts ?? []);
  if (!reservedPorts.ok) return reservedPorts;
  const host = checkHostReport(command);
  if (!host.ok) return host;
  // Left out when not reported, so that records (and snapshots) of nodes whose agents report nothing are as before.
  const reported = {
    ...(gatewaySubnet.value === undefined ? {} : { gatewaySubnet: gatewaySubnet.value }),
    ...(reservedPorts.value.length === 0 ? {} : { reservedPorts: reservedPorts.value }),
    ...host.value,
  };
  const existing = state.nodes.byName(command.name);
  if (existing) {
    // What an agent reports is what it runs with now: a restart with other flags replaces it.
    const { gatewaySubnet: _oldSubnet, reservedPorts: _oldPorts, interfaces: _oldLinks, linkKinds: _oldKinds, ephemeralPorts: _oldRange, ...kept } = existing;
    const moved: NodeRecord = { ...kept, advertiseAddr: command.advertiseAddr, ...reported };
    state.nodes.set(moved.id, moved);
    return ok(toNode(moved));
  }
  const id = checkNewId(state.nodes, 'node', command.id);
  if (!id.ok) return id;

  const record: NodeRecord = {
    id: command.id,
    name: command.name,
    advertiseAddr: command.advertiseAddr,
    registeredRevision: state.revision + 1,
    availability: 'active',
    labels: {},
    ...reported,
  };
  state.nodes.set(record.id, record);
  return ok(toNode(record));
}

/** Like `docker node update`: availability, then labels added, then labels removed. */
export function updateNode(state: StoreState, command: UpdateNode): Result<Node> {
  const node = state.findNode(command.node);
  if (!node) return notFound('node', command.node);
  const availability = command.availability ? checkAvailability(command.availability) : ok(node.availability);
  if (!availability.ok) return availability;
  const labelRm = command.labelRm ?? [];
  // Own keys only: "toString" is in every object's prototype, not in anyone's labels.
  const both = labelRm.find((key) => command.labelAdd !== undefined && Object.hasOwn(command.labelAdd, key));
  if (both !== undefined) {
    return fail('INVALID_ARGUMENT', 'label_rm', `label_rm: "${both}" is also in label_add; give each key to one of them`);
  }
  const merged = { ...node.labels, ...command.labelAdd };
  for (const key of labelRm) delete merged[key];
  const labels = checkLabels('label_add', merged);
  if (!labels.ok) return labels;

  // Neither field is in a node view today; the write touches the node all the same, which costs one view and keeps a future field from going stale.
  const updated: NodeRecord = { ...node, availability: availability.value, labels: labels.value };
  state.nodes.set(updated.id, updated);
  return ok(toNode(updated));
}

/** What SessionHello.gossip_public_key carries: a 32-byte public key, in hex. */
const GOSSIP_PUBLIC_KEY = /^[0-9a-f]{64}$/;

/**
 * Registers (or with '' clears) the key the node's agent gossips with. The same key again
 * changes nothing, though the command still counts as applied (a revision like any other).
 */
export function setNodeGossipKey(state: StoreState, command: SetNodeGossipKey): Result<Node> {
  const { nodeId, publicKey } = command;
  if (publicKey !== '' && !GOSSIP_PUBLIC_KEY.test(publicKey)) {
    const shown = publicKey.length > 80 ? `a string of ${publicKey.length} characters` : JSON.stringify(publicKey);
    return fail(
      'INVALID_ARGUMENT',
      'gossip_public_key',
      `gossip_public_key: ${shown} is not a gossip key; give the agent's 32-byte public key as 64 lowercase hex characters, or '' when it does not gossip`,
    );
  }
  const node = state.nodes.get(nodeId);
  if (!node) return fail('NOT_FOUND', 'node_id', `node_id: no node with id "${nodeId}"; the node must register (Dispatcher.Register) first`);
  if ((node.gossipPublicKey ?? '') === publicKey) return ok(toNode(node));
  // Left out when cleared, so a node that stopped gossiping has the record of one that never did.
  const { gossipPublicKey: _old, ...rest } = node;
  const updated: NodeRecord = publicKey === '' ? rest : { ...rest, gossipPublicKey: publicKey };
  state.nodes.set(updated.id, updated);
  return ok(toNode(updated));
}

/**
 * The store only checks what it knows (hosted sandboxes); that the node is down is the API's to check.
 * With `revoke`, the node's certificates are refused from then on: a removed node cannot come back under another name.
 */
export function removeNode(state: StoreState, command: RemoveNode): Result<Node> {
  const node = state.findNode(command.node);
  if (!node) return notFound('node', command.node);
  const revocation = command.revoke && checkRevocation(command.revoke);
  if (revocation && !revocation.ok) return revocation;
  const hosted = state.sandboxesOfNode(node.id);
  if (hosted.length > 0) {
    const names = hosted.map((sandbox) => `"${sandbox.name}"`).join(', ');
    return fail(
      'FAILED_PRECONDITION',
      'node',
      `node: "${node.name}" still hosts ${hosted.length} sandbox(es) (${names}); remove them first (trellis sandbox rm)`,
    );
  }
  const local = [...state.networks.values()].filter((network) => network.nodeId === node.id);
  if (local.length > 0) {
    const names = local.map((network) => `"${network.name}"`).join(', ');
    return fail(
      'FAILED_PRECONDITION',
      'node',
      `node: "${node.name}" still holds ${local.length} network(s) local to it (${names}); remove them first (trellis network rm)`,
    );
  }

  const removed = toNode(node);
  state.nodes.delete(node.id);
  if (revocation) revoke(state, node.id, revocation.value);
  return ok(removed);
}

/**
 * The node's gateway bridge sends its sandboxes' traffic out through the host: an overlay subnet
 * inside it would be unreachable from that node's sandboxes, and the other way round.
 */
function checkGatewaySubnet(state: StoreState, nodeId: string, nodeName: string, value: string): Result<string> {
  const subnet = parseCidrField('gateway_subnet', value, '172.29.0.0/16');
  if (!subnet.ok) return subnet;
  const usable = checkUsableSubnet('gateway_subnet', subnet.value);
  if (!usable.ok) return usable;
  const clash = networkOverlapping(state, subnet.value, nodeId);
  if (clash !== undefined) {
    return fail(
      'FAILED_PRECONDITION',
      'gateway_subnet',
      `gateway_subnet: node "${nodeName}" has gateway subnet ${formatCidr(subnet.value)}, which overlaps subnet ${clash.subnet} of network "${clash.network}"; restart its agent with another --gateway-subnet, or remove the network`,
    );
  }
  return ok(formatCidr(subnet.value));
}

function checkAvailability(value: string): Result<NodeAvailability> {
  const known = AVAILABILITIES.find((availability) => availability === value);
  if (known) return ok(known);
  return fail('INVALID_ARGUMENT', 'availability', `availability: "${value}" is not one of ${AVAILABILITIES.join(', ')}; give active or drain`);
}
