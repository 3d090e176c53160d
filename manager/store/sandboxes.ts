import type { Sandbox } from '../../proto/gen/trellis/v1/types';
import type { CreateSandbox, RemoveSandbox } from './commands';
import { AGENT_NETNS_PREFIX, checkAdoptedNetns } from './adopted-netns';
import { fail, notFound, ok, type Result } from './errors';
import { checkName, checkNewId, shortened } from './fields';
import { type NodeRecord, type SandboxRecord, type StoreState } from './state';
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
  const networking = command.netnsFrom ? sharedNetworking(state, command, node) : ownNetworking(state, command);
  if (!networking.ok) return networking;

  const record: SandboxRecord = {
    id: command.id,
    name: command.name,
    nodeId: node.id,
    ...networking.value,
    createdRevision: state.revision + 1,
  };
  state.sandboxes.set(record.id, record);
  if (networking.value.netnsFrom !== undefined) {
    const origin = state.sandbox(networking.value.netnsFrom);
    if (!origin.netnsShared) state.sandboxes.set(origin.id, { ...origin, netnsShared: true });
  }
  return ok(toSandbox(state, record));
}

/** The namespace fields of a sandbox record, and its network mode. */
type Networking = Pick<SandboxRecord, 'netnsName' | 'adoptedNetns' | 'networkMode' | 'netnsFrom'>;

const NETWORK_MODES: readonly NonNullable<SandboxRecord['networkMode']>[] = ['none', 'host'];

/** A namespace of its own: one the agent makes (or, for host, attaches the node's under), or an adopted one. */
function ownNetworking(state: StoreState, command: CreateSandbox): Result<Networking> {
  const modeText = command.networkMode ?? '';
  const networkMode = NETWORK_MODES.find((mode) => mode === modeText);
  if (modeText !== '' && networkMode === undefined) {
    return fail(
      'INVALID_ARGUMENT',
      'network_mode',
      `network_mode: ${JSON.stringify(shortened(modeText))} is not a network mode; give none (loopback only), host (the node's own namespace) or leave it empty, and connect networks with trellis network connect`,
    );
  }
  if (networkMode !== undefined && command.netns) {
    return fail(
      'INVALID_ARGUMENT',
      'network_mode',
      `network_mode: a ${networkMode} sandbox has no namespace to adopt (${networkMode === 'host' ? "it is the node's own" : 'the agent makes one with loopback only'}); give either --network ${networkMode} or --netns`,
    );
  }
  const adopted = checkAdoptedNetns(state, command.netns ?? '');
  if (!adopted.ok) return adopted;
  // Allocated even for an adopted namespace: a /proc/PID/ns/net one is attached under this name (and a host one, the node's own).
  const netnsName = AGENT_NETNS_PREFIX + command.id.slice(0, NETNS_ID_CHARS);
  // Ids are random, but two sharing a prefix would make two sandboxes share one namespace.
  if (netnsTaken(state, netnsName)) {
    return fail('ALREADY_EXISTS', 'id', `id: namespace ${netnsName} is already used by another sandbox; retry with a new id`);
  }
  // Left out rather than '' so that records (and snapshots) of sandboxes that adopt nothing are as before.
  return ok({
    netnsName,
    ...(adopted.value === '' ? {} : { adoptedNetns: adopted.value }),
    ...(networkMode === undefined ? {} : { networkMode }),
  });
}

/** Docker's --network container:OTHER: the other sandbox's namespace (and mode), which lives while either sandbox does. */
function sharedNetworking(state: StoreState, command: CreateSandbox, node: NodeRecord): Result<Networking> {
  const reference = command.netnsFrom ?? '';
  if (command.netns || command.networkMode) {
    const other = command.netns ? 'netns' : 'network_mode';
    return fail(
      'INVALID_ARGUMENT',
      'netns_from',
      `netns_from: the sandbox takes the namespace (and network mode) of "${shortened(reference)}"; give either netns_from or ${other}, not both`,
    );
  }
  const origin = state.findSandbox(reference);
  if (!origin) return notFound('sandbox', reference, 'netns_from');
  if (origin.nodeId !== node.id) {
    return fail(
      'FAILED_PRECONDITION',
      'netns_from',
      `netns_from: sandbox "${origin.name}" is on node "${state.node(origin.nodeId).name}", not "${node.name}"; a namespace is one node's, so create the sandbox with --node ${state.node(origin.nodeId).name}`,
    );
  }
  if (origin.removing) {
    return fail('FAILED_PRECONDITION', 'netns_from', `netns_from: sandbox "${origin.name}" is being removed (its backends drain); share the namespace of another sandbox`);
  }
  return ok({
    netnsName: origin.netnsName,
    ...(origin.adoptedNetns === undefined ? {} : { adoptedNetns: origin.adoptedNetns }),
    ...(origin.networkMode === undefined ? {} : { networkMode: origin.networkMode }),
    netnsFrom: origin.id,
  });
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
