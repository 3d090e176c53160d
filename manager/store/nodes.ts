import type { Node } from '../../proto/gen/trellis/v1/types';
import type { RegisterNode, RemoveNode, UpdateNode } from './commands';
import { fail, notFound, ok, type Result } from './errors';
import { checkLabels, checkName, checkNewId, parseAdvertiseAddr } from './fields';
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
  const existing = state.nodes.byName(command.name);
  if (existing) {
    existing.advertiseAddr = command.advertiseAddr;
    state.touchNode(existing.id);
    return ok(toNode(existing));
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
  const both = labelRm.find((key) => command.labelAdd && key in command.labelAdd);
  if (both !== undefined) {
    return fail('INVALID_ARGUMENT', 'label_rm', `label_rm: "${both}" is also in label_add; give each key to one of them`);
  }
  const merged = { ...node.labels, ...command.labelAdd };
  for (const key of labelRm) delete merged[key];
  const labels = checkLabels('label_add', merged);
  if (!labels.ok) return labels;

  node.availability = availability.value;
  node.labels = labels.value;
  // Neither field is in a node view today; touching costs one view and keeps a future field from going stale.
  state.touchNode(node.id);
  return ok(toNode(node));
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

  const removed = toNode(node);
  state.nodes.delete(node.id);
  if (revocation) revoke(state, node.id, revocation.value);
  return ok(removed);
}

function checkAvailability(value: string): Result<NodeAvailability> {
  const known = AVAILABILITIES.find((availability) => availability === value);
  if (known) return ok(known);
  return fail('INVALID_ARGUMENT', 'availability', `availability: "${value}" is not one of ${AVAILABILITIES.join(', ')}; give active or drain`);
}
