/*
 * Renewing at two thirds of the lifetime leaves the last third to retry in,
 * through a manager outage, before the certificate lapses (Swarm does the same).
 */
const RENEW_AT_FRACTION = 2 / 3;

/** Milliseconds from `now` until the certificate should be renewed; 0 if that time has passed. */
export function renewalDelayMs(validity: { notBefore: Date; notAfter: Date; now: Date }): number {
  const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
  const renewAt = validity.notBefore.getTime() + lifetime * RENEW_AT_FRACTION;
  return Math.max(0, renewAt - validity.now.getTime());
}
