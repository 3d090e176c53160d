import type { ServiceError } from '@grpc/grpc-js';
import { serviceError } from '../api/status';
import type { Revocation, Store } from '../store';
import { revokedDenial, type RevocationCheck } from './authorization-rules';

/** The refusal for a call made as `nodeId` when its certificates are revoked; undefined when they are not. */
export function revokedError(store: Store, nodeId: string): ServiceError | undefined {
  const revoked = store.revocation(nodeId);
  return revoked && serviceError('UNAUTHENTICATED', '', revokedDenial(nodeId, revoked.reason).details);
}

/** Clocks of managers may differ: a certificate signed by one may expire this much later by another's. */
const CLOCK_MARGIN_MS = 5 * 60_000;

/**
 * A revocation made now: remembered until every certificate the node may hold has
 * expired, the latest being one issued just now for the cluster's certificate lifetime.
 */
export function revocationNow(store: Store, reason: string, now = Date.now()): Revocation {
  const lifetimeMs = (store.security()?.certValiditySeconds ?? 0) * 1000;
  return { reason, at: now, until: now + lifetimeMs + CLOCK_MARGIN_MS };
}

/** What the revocation check reads of the local replica. */
export interface RevocationSource {
  readonly store: Store;
  /** The Raft members now, by id. */
  memberAddresses(): Record<string, string>;
}

/**
 * The interceptor's check against the local replica (no read barrier: every call pays
 * for it, and a replica lags the leader by milliseconds). A revoked manager stays
 * heard while it is still a Raft member, so that its removal, proposed after its
 * revocation, can commit; `source` is undefined until the replica exists.
 */
export function managerRevocationCheck(source: () => RevocationSource | undefined): RevocationCheck {
  return (nodeId) => {
    const revoked = source()?.store.revocation(nodeId);
    if (!revoked || nodeId in (source()?.memberAddresses() ?? {})) return undefined;
    return revoked;
  };
}
