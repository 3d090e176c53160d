import type { EndpointRecord, ServiceRecord } from './state';

/*
 * The service and backend fields that drain and idle timeouts brought, read in this one place
 * with their defaults: records from before them (older snapshots, older log entries) lack them.
 */

export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 30;
/** Longer than IPVS's 900 s, which cuts idle long-lived connections (the complaint this answers). */
export const DEFAULT_TCP_IDLE_TIMEOUT_SECONDS = 86_400;
export const DEFAULT_UDP_IDLE_TIMEOUT_SECONDS = 900;

type WithServiceFields = ServiceRecord &
  Partial<{ drainTimeoutSeconds: number; tcpIdleTimeoutSeconds: number; udpIdleTimeoutSeconds: number; updatedRevision: number }>;

export interface ServiceTimeouts {
  drainTimeoutSeconds: number;
  tcpIdleTimeoutSeconds: number;
  udpIdleTimeoutSeconds: number;
}

export function serviceTimeouts(service: WithServiceFields): ServiceTimeouts {
  return {
    drainTimeoutSeconds: service.drainTimeoutSeconds ?? DEFAULT_DRAIN_TIMEOUT_SECONDS,
    tcpIdleTimeoutSeconds: service.tcpIdleTimeoutSeconds ?? DEFAULT_TCP_IDLE_TIMEOUT_SECONDS,
    udpIdleTimeoutSeconds: service.udpIdleTimeoutSeconds ?? DEFAULT_UDP_IDLE_TIMEOUT_SECONDS,
  };
}

/** The revision of the last write to the service's own fields: what agents report back as programmed. */
export function serviceRevision(service: WithServiceFields): number {
  return service.updatedRevision ?? service.createdRevision;
}

/** When a leaving backend's drain ends (ms since the epoch); undefined unless it is draining. */
export function drainEndsAtMs(endpoint: EndpointRecord & Partial<{ drainEndsAtMs: number }>): number | undefined {
  return endpoint.drainEndsAtMs;
}
