import type { Node } from '../../proto/gen/trellis/v1/types';
import type { RegisterNode } from './commands';
import { ok, type Result } from './errors';
import { checkName, checkNewId, parseAdvertiseAddr } from './fields';
import { findByName, type StoreState } from './state';
import { toNode } from './views';

/** A node that re-registers (after a restart, or with a new address) keeps its id and its sandboxes. */
export function registerNode(state: StoreState, command: RegisterNode): Result<Node> {
  const name = checkName('node', command.name);
  if (!name.ok) return name;
  const address = parseAdvertiseAddr(command.advertiseAddr);
  if (!address.ok) return address;
  const existing = findByName(state.nodes, command.name);
  if (existing) {
    existing.advertiseAddr = command.advertiseAddr;
    return ok(toNode(existing));
  }
  const id = checkNewId(state.nodes, 'node', command.id);
  if (!id.ok) return id;

  const record = { id: command.id, name: command.name, advertiseAddr: command.advertiseAddr, registeredRevision: state.revision + 1 };
  state.nodes.set(record.id, record);
  return ok(toNode(record));
}
