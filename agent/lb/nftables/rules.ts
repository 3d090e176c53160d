import { SERVICES_MAP } from './names';

/**
 * The few rules the table holds, as nft statements, and the reading of `nft -j` rule expressions
 * back into the same text. A rule of any other shape reads back as text no desired rule has
 * (`?` and its JSON), so plan rewrites its chain.
 */

export const DISPATCH_RULE = `ip daddr vmap @${SERVICES_MAP}`;
/** A VIP without an accepting backend: a TCP client gets ECONNREFUSED at once (ICMP port unreachable), a UDP one an error, a ping an unreachable. */
export const REFUSE_RULE = 'reject';

export const timeoutRule = (name: string): string => `ct timeout set "${name}"`;

/**
 * Destination NAT of the address only: the backend sees the client's own address, and the flow
 * keeps its port (VIP:5432 reaches a backend's 5432), whatever the protocol, as Docker's VIP does.
 * Only a flow's first packet passes a nat chain, so this picks one backend per flow.
 */
export function dnatRule(backends: number, map: string): string {
  return `dnat ip to numgen random mod ${backends} map @${map}`;
}

type Json = unknown;

const isRecord = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One expression (the operand of a statement), or undefined when it is not one of ours. */
function expression(value: Json): string | undefined {
  if (!isRecord(value)) return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  const payload = value['payload'];
  if (isRecord(payload) && typeof payload['protocol'] === 'string' && typeof payload['field'] === 'string') return `${payload['protocol']} ${payload['field']}`;
  const numgen = value['numgen'];
  if (isRecord(numgen) && numgen['offset'] === 0 && typeof numgen['mode'] === 'string' && typeof numgen['mod'] === 'number') {
    return `numgen ${numgen['mode']} mod ${numgen['mod']}`;
  }
  const map = value['map'];
  if (isRecord(map) && typeof map['data'] === 'string') {
    const key = expression(map['key']);
    return key === undefined ? undefined : `${key} map ${map['data']}`;
  }
  return undefined;
}

function statement(value: Json): string | undefined {
  if (!isRecord(value)) return undefined;
  const [kind, body] = Object.entries(value)[0] ?? [];
  if (kind === 'ct timeout' && typeof body === 'string') return timeoutRule(body);
  if (!isRecord(body)) return undefined;
  if (kind === 'vmap' && typeof body['data'] === 'string') {
    const key = expression(body['key']);
    return key === undefined ? undefined : `${key} vmap ${body['data']}`;
  }
  // A DNAT to a port (an older agent's rule) is not ours: its chain is rewritten.
  if (kind === 'dnat' && (body['family'] ?? 'ip') === 'ip' && body['port'] === undefined) {
    const address = expression(body['addr']);
    return address === undefined ? undefined : `dnat ip to ${address}`;
  }
  if (kind === 'reject' && body['type'] === 'icmp' && body['expr'] === 'port-unreachable') return REFUSE_RULE;
  return undefined;
}

/** A rule's `expr` list from `nft -j` as the text that wrote it. */
export function ruleText(expressions: Json): string {
  const statements = Array.isArray(expressions) ? expressions.map(statement) : [undefined];
  return statements.every((text): text is string => text !== undefined) ? statements.join(' ') : `? ${JSON.stringify(expressions)}`;
}
