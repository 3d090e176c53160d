import type { LbProtocol } from '../model';
import { SERVICES_MAP } from './names';

/**
 * The few rules the table holds, as nft statements, and the reading of `nft -j` rule expressions
 * back into the same text. A rule of any other shape reads back as text no desired rule has
 * (`?` and its JSON), so plan rewrites its chain.
 */

export const DISPATCH_RULE = `ip daddr . meta l4proto . th dport vmap @${SERVICES_MAP}`;
/** A VIP-port without an accepting backend: a TCP client gets ECONNREFUSED at once (ICMP port unreachable), a UDP one an error. */
export const REFUSE_RULE = 'reject';

export const timeoutRule = (name: string): string => `ct timeout set "${name}"`;

/** Destination NAT only: the backend sees the client's own address. */
export function dnatRule(protocol: LbProtocol, backends: number, map: string, targetPort: number): string {
  return `meta l4proto ${protocol} dnat ip to numgen random mod ${backends} map @${map} : ${targetPort}`;
}

type Json = unknown;

const isRecord = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One expression (the operand of a statement), or undefined when it is not one of ours. */
function expression(value: Json): string | undefined {
  if (!isRecord(value)) return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  const payload = value['payload'];
  if (isRecord(payload) && typeof payload['protocol'] === 'string' && typeof payload['field'] === 'string') return `${payload['protocol']} ${payload['field']}`;
  const meta = value['meta'];
  if (isRecord(meta) && typeof meta['key'] === 'string') return `meta ${meta['key']}`;
  const concat = value['concat'];
  if (Array.isArray(concat)) {
    const parts = concat.map(expression);
    return parts.every((part): part is string => part !== undefined) ? parts.join(' . ') : undefined;
  }
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
  if (kind === 'match' && body['op'] === '==') {
    const [left, right] = [expression(body['left']), expression(body['right'])];
    return left === undefined || right === undefined ? undefined : `${left} ${right}`;
  }
  if (kind === 'dnat' && (body['family'] ?? 'ip') === 'ip' && typeof body['port'] === 'number') {
    const address = expression(body['addr']);
    return address === undefined ? undefined : `dnat ip to ${address} : ${body['port']}`;
  }
  if (kind === 'reject' && body['type'] === 'icmp' && body['expr'] === 'port-unreachable') return REFUSE_RULE;
  return undefined;
}

/** A rule's `expr` list from `nft -j` as the text that wrote it. */
export function ruleText(expressions: Json): string {
  const statements = Array.isArray(expressions) ? expressions.map(statement) : [undefined];
  return statements.every((text): text is string => text !== undefined) ? statements.join(' ') : `? ${JSON.stringify(expressions)}`;
}
