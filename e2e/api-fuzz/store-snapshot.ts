/** Everything the Control API shows of a manager's store, to tell whether a call changed it. */
import { createHash } from 'node:crypto';
import type { ControlClient } from '../../proto/gen/trellis/v1/control';
import { callUnary } from '../../proto/runtime/unary-call';
import type { Known } from './values';

/**
 * A node no fuzzed request names (it is left out of what requests pick from), so never removed: a
 * root rotation then waits for it for good (it has no agent to renew), as the fuzz assumes. Were
 * every node removed, the rotation would finish and a second one would leave the fuzz's admin
 * certificate, signed by the first root, trusted no more.
 */
export const ANCHOR_NODE = { nodeName: 'anchor', advertiseAddr: '198.18.0.13' };

export interface StoreSnapshot {
  known: Known;
  /** per part (networks, sandboxes, …), its objects keyed by id */
  parts: Record<string, Map<string, string>>;
  digest: string;
  bytes: number;
}

/** The fuzzed store stays far below one page (500 objects). */
const FIRST_PAGE = { pageSize: 0, pageToken: '' };

export async function snapshot(client: ControlClient, timeoutMs: number): Promise<StoreSnapshot> {
  const [networks, sandboxes, services, nodes, tokens, managers] = await Promise.all([
    callUnary(client, (c) => c.listNetworks, FIRST_PAGE, timeoutMs),
    callUnary(client, (c) => c.listSandboxes, FIRST_PAGE, timeoutMs),
    callUnary(client, (c) => c.listServices, FIRST_PAGE, timeoutMs),
    callUnary(client, (c) => c.listNodes, FIRST_PAGE, timeoutMs),
    callUnary(client, (c) => c.getJoinTokens, {}, timeoutMs),
    callUnary(client, (c) => c.listManagers, {}, timeoutMs),
  ]);
  const parts: Record<string, Map<string, string>> = {
    networks: byId(networks.networks),
    sandboxes: byId(sandboxes.sandboxes),
    services: byId(services.services),
    nodes: byId(nodes.nodes),
    tokens: new Map([['tokens', JSON.stringify(tokens)]]),
    // Raft's indexes move with every entry, refused ones included: membership is the state.
    managers: byId(managers.managers.map(({ id, address, role }) => ({ id, address, role }))),
  };
  const hash = createHash('sha256');
  let bytes = 0;
  for (const [part, objects] of Object.entries(parts)) {
    for (const [id, json] of objects) {
      hash.update(`${part}\0${id}\0${json}\0`);
      bytes += json.length;
    }
  }
  const named = (objects: Array<{ id: string; name: string }>) => objects.map(({ id, name }) => ({ id, name }));
  return {
    known: {
      networks: named(networks.networks),
      sandboxes: named(sandboxes.sandboxes),
      services: named(services.services),
      nodes: named(nodes.nodes.filter((node) => node.name !== ANCHOR_NODE.nodeName)),
      managers: managers.managers.map(({ id }) => ({ id })),
      connections: sandboxes.sandboxes.flatMap((sandbox) => sandbox.endpoints.map((endpoint) => ({ network: endpoint.networkName, sandbox: sandbox.name }))),
    },
    parts,
    digest: hash.digest('hex'),
    bytes,
  };
}

/** What changed between two snapshots, one line per object: "networks +id", "sandboxes ~id", "nodes -id". */
export function changes(before: StoreSnapshot, after: StoreSnapshot): string[] {
  const lines: string[] = [];
  for (const [part, objects] of Object.entries(after.parts)) {
    const old = before.parts[part] ?? new Map<string, string>();
    for (const [id, json] of objects) {
      if (!old.has(id)) lines.push(`${part} +${id}`);
      else if (old.get(id) !== json) lines.push(`${part} ~${id}`);
    }
    for (const id of old.keys()) if (!objects.has(id)) lines.push(`${part} -${id}`);
  }
  return lines;
}

function byId(objects: Array<{ id: string }>): Map<string, string> {
  return new Map(objects.map((object) => [object.id, JSON.stringify(object)]));
}
