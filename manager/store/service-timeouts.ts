import type { CreateService } from './commands';
import { fail, ok, type Result } from './errors';
import { DRAIN_TIMEOUT_RANGE, IDLE_TIMEOUT_RANGE } from './limits';
import type { ServiceRecord } from './state';

export type ServiceTimeouts = Pick<ServiceRecord, 'drainTimeoutSeconds' | 'tcpIdleTimeoutSeconds' | 'udpIdleTimeoutSeconds'>;

const FIELDS: readonly { key: keyof ServiceTimeouts; field: string; flag: string; range: { min: number; max: number } }[] = [
  { key: 'drainTimeoutSeconds', field: 'drain_timeout_seconds', flag: '--drain-timeout', range: DRAIN_TIMEOUT_RANGE },
  { key: 'tcpIdleTimeoutSeconds', field: 'tcp_idle_timeout_seconds', flag: '--idle-timeout-tcp', range: IDLE_TIMEOUT_RANGE },
  { key: 'udpIdleTimeoutSeconds', field: 'udp_idle_timeout_seconds', flag: '--idle-timeout-udp', range: IDLE_TIMEOUT_RANGE },
];

/** The timeouts `requested` gives, the others as in `current` (a new service's: the defaults). */
export function checkTimeouts(requested: Pick<CreateService, keyof ServiceTimeouts>, current: ServiceTimeouts): Result<ServiceTimeouts> {
  const { drainTimeoutSeconds, tcpIdleTimeoutSeconds, udpIdleTimeoutSeconds } = current;
  const timeouts: ServiceTimeouts = { drainTimeoutSeconds, tcpIdleTimeoutSeconds, udpIdleTimeoutSeconds };
  for (const { key, field, flag, range } of FIELDS) {
    const value = requested[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < range.min || value > range.max) {
      return fail(
        'INVALID_ARGUMENT',
        field,
        `${field}: ${value} seconds is out of range; give ${range.min} to ${range.max} (${flag} ${range.min === 0 ? '0s' : '1s'} to ${range.max / 3600}h)`,
      );
    }
    timeouts[key] = value;
  }
  return ok(timeouts);
}

/** Whether the request sets any timeout. */
export function setsTimeouts(requested: Pick<CreateService, keyof ServiceTimeouts>): boolean {
  return FIELDS.some(({ key }) => requested[key] !== undefined);
}
