import type { Sandbox } from '../../proto/gen/trellis/v1/types';
import type { CreateSandbox, RemoveSandbox } from './commands';
import { AGENT_NETNS_PREFIX, checkAdoptedNetns } from './adopted-netns';
import { fail, notFound, ok, type Result } from './errors';
import { checkName, checkNewId } from './fields';
import { type SandboxRecord, type StoreState } from './state';
import { toSandbox } from './views';
import { leave } from './drains';

const NETNS_ID_CHARS = 10;

export function createSandbox(state: StoreState, command: CreateSandbox): Result<Sandbox> {
  const id = checkNewId(state.sandboxes, 'sandbox', command.id);
  if (!id.ok) return id;
  const name = checkName('sandbox', command.name);
  if (!name.ok) return name;
  const taken = state.sandboxes.byName(command.name);
  if (taken) {
    return fail('ALREADY_EXISTS', 'name', `name: a sandbox named "${command.name}" already exists (id ${taken.id}); choose another name`);
  }
  const node = state.findNode(command.node);
  if (!node) return notFound('node', command.node);
  if (node.availability === 'drain') {
    return fail(
      'FAILED_PRECONDITION',
      'node',
      `node: "${node.name}" is drained and takes no new sandboxes; choose another node, or make it active (trellis node update --availability active ${node.name})`,
    );
  }
  const adopted = checkAdoptedNetns(state, command.netns ?? '');
  if (!adopted.ok) return adopted;
  // Allocated even for an adopted namespace: a /proc/PID/ns/net one is attached under this name.
  const netnsName = AGENT_NETNS_PREFIX + command.id.slice(0, NETNS_ID_CHARS);
  // Ids are random, but two sharing a prefix would make two sandboxes share one namespace.
  if (netnsTaken(state, netnsName)) {
    return fail('ALREADY_EXISTS', 'id', `id: namespace ${netnsName} is already used by another sandbox; retry with a new id`);
  }

  const record: SandboxRecord = {
    id: command.id,
    name: command.name,
    nodeId: node.id,
    netnsName,
    // Left out rather than '' so that records (and snapshots) of sandboxes that adopt nothing are as before.
    ...(adopted.value === '' ? {} : { adoptedNetns: adopted.value }),
    createdRevision: state.revision + 1,
  };
  state.sandboxes.set(record.id, record);
  return ok(toSandbox(state, record));
}

/**
 * Like `docker rm`: the sandbox leaves every network it was on; service backends among its endpoints
 * drain first (see drains.ts). Removing one that is being removed again changes nothing.
 */
export function removeSandbox(state: StoreState, command: RemoveSandbox): Result<Sandbox> {
  const sandbox = state.findSandbox(command.sandbox);
  if (!sandbox) return notFound('sandbox', command.sandbox);

  const removed = toSandbox(state, sandbox);
  for (const endpoint of state.endpointsOfSandbox(sandbox.id)) leave(state, endpoint, command.at, false);
  // Its draining backends keep it (its namespace serves their flows) until the last drain ends.
  if (state.endpointsOfSandbox(sandbox.id).length === 0) state.sandboxes.delete(sandbox.id);
  else if (!sandbox.removing) state.sandboxes.set(sandbox.id, { ...sandbox, removing: true });
  return ok(removed);
}

/** A plain loop: this runs for every new sandbox, and copying tens of thousands of records each time made bulk creation quadratic in memory traffic. */
function netnsTaken(state: StoreState, netnsName: string): boolean {
  for (const sandbox of state.sandboxes.values()) if (sandbox.netnsName === netnsName) return true;
  return false;
}
