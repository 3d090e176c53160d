import type { Revocation, RevokeNode } from './commands';
import { fail, ok, type Result } from './errors';
import type { RevokedNodeRecord, StoreState } from './state';

/** Checked before anything is written, so a bad revocation leaves the store as it was. */
export function checkRevocation(revocation: Revocation): Result<Revocation> {
  const { reason, at, until } = revocation;
  if (typeof reason !== 'string' || reason === '') return fail('INVALID_ARGUMENT', 'reason', 'reason: say why the node is revoked');
  if (!Number.isSafeInteger(at) || at <= 0) return fail('INVALID_ARGUMENT', 'at', 'at: not a time in milliseconds since the epoch');
  if (!Number.isSafeInteger(until) || until < at) {
    return fail('INVALID_ARGUMENT', 'until', 'until: not a time in milliseconds since the epoch at or after `at`');
  }
  return ok(revocation);
}

/**
 * Adds the node to the revocation list. Entries whose certificates have all expired by
 * `at` are dropped (a TLS handshake refuses those certificates anyway), so the list
 * holds only the nodes removed within one certificate lifetime.
 */
export function revoke(state: StoreState, nodeId: string, revocation: Revocation): RevokedNodeRecord {
  for (const [id, revoked] of state.revokedNodes) if (revoked.until <= revocation.at) state.revokedNodes.delete(id);
  const earlier = state.revokedNodes.get(nodeId);
  const record: RevokedNodeRecord = {
    nodeId,
    reason: revocation.reason,
    revokedAt: revocation.at,
    until: Math.max(revocation.until, earlier?.until ?? 0),
  };
  state.revokedNodes.set(nodeId, record);
  return structuredClone(record);
}

export function revokeNode(state: StoreState, command: RevokeNode): Result<RevokedNodeRecord> {
  if (typeof command.nodeId !== 'string' || command.nodeId === '') return fail('INVALID_ARGUMENT', 'node_id', 'node_id: give the id of the node to revoke');
  const checked = checkRevocation(command);
  if (!checked.ok) return checked;
  return ok(revoke(state, command.nodeId, checked.value));
}
