import type { Endpoint } from '../../proto/gen/trellis/v1/types';
import type { FinishDrain } from './commands';
import { fail, ok, type Result } from './errors';
import { storedIpv4, type EndpointRecord, type StoreState } from './state';
import { toEndpoint } from './views';

/*
 * A service backend that leaves (disconnected, or its sandbox removed) drains: for its service's drain
 * timeout it takes no new flows but keeps its address and interface, so established flows keep
 * working; then the leader removes it (finishDrain). A sandbox removed while some of its endpoints
 * drain is marked removing and goes with the last of them. Apply has no clock: the proposer's `at`
 * comes in the command, and the drain's end is computed from it the same on every replica.
 */

/** Deletes the endpoint and frees its address. */
export function releaseEndpoint(state: StoreState, endpoint: EndpointRecord): void {
  state.addressSpace(endpoint.networkId).release(storedIpv4(endpoint.ip));
  state.endpoints.delete(endpoint.id);
}

/** When `endpoint` leaving at `at` would stop draining, or undefined when it leaves at once. */
function drainEnd(state: StoreState, endpoint: EndpointRecord, at: number | undefined): number | undefined {
  if (at === undefined || endpoint.serviceId === '') return undefined;
  const timeout = state.service(endpoint.serviceId).drainTimeoutSeconds;
  return timeout > 0 ? at + timeout * 1000 : undefined;
}

/**
 * `endpoint` leaves: drains if it is a backend of a service with a drain timeout (and not `force`d),
 * else goes at once. One already draining keeps its end, unless forced.
 */
export function leave(state: StoreState, endpoint: EndpointRecord, at: number | undefined, force: boolean): void {
  if (force) {
    releaseEndpoint(state, endpoint);
    return;
  }
  if (endpoint.drainEndsAtMs !== undefined) return;
  const drainEndsAtMs = drainEnd(state, endpoint, at);
  if (drainEndsAtMs === undefined) releaseEndpoint(state, endpoint);
  else state.endpoints.set(endpoint.id, { ...endpoint, drainEndsAtMs });
}

/** A removing sandbox with no endpoint left goes. */
export function removeIfDone(state: StoreState, sandboxId: string): void {
  const sandbox = state.sandboxes.get(sandboxId);
  if (sandbox?.removing && state.endpointsOfSandbox(sandboxId).length === 0) state.sandboxes.delete(sandboxId);
}

/** The leader's proposal: ends the drains of `endpointIds` that ended by `at`; those gone or still draining are skipped. */
export function finishDrain(state: StoreState, command: FinishDrain): Result<Endpoint[]> {
  const due = command.endpointIds.flatMap((id) => {
    const endpoint = state.endpoints.get(id);
    return endpoint?.drainEndsAtMs !== undefined && endpoint.drainEndsAtMs <= command.at ? [endpoint] : [];
  });
  // Refused, so a repeated proposal (a new leader, a retry) changes nothing, not even the revision.
  if (due.length === 0) return fail('FAILED_PRECONDITION', 'endpoint_ids', 'endpoint_ids: none of these endpoints has a drain that ended by then; nothing to remove');
  const removed = due.map((endpoint) => toEndpoint(state, endpoint));
  for (const endpoint of due) {
    releaseEndpoint(state, endpoint);
    removeIfDone(state, endpoint.sandboxId);
  }
  return ok(removed);
}

/** " (draining until …)" for messages that list endpoints, '' for one that does not drain. */
export function drainingNote(endpoint: EndpointRecord): string {
  return endpoint.drainEndsAtMs === undefined ? '' : ` (draining until ${new Date(endpoint.drainEndsAtMs).toISOString()})`;
}

/** What to add to "disconnect them first" when some of `endpoints` drain, which no disconnect speeds up. */
export function drainingAdvice(endpoints: readonly EndpointRecord[]): string {
  if (!endpoints.some((endpoint) => endpoint.drainEndsAtMs !== undefined)) return '';
  return ', and wait for draining ones to end or cut them short (trellis network disconnect --force)';
}
