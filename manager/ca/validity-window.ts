/*
 * Certificates start a little in the past so a peer whose clock is slightly
 * behind the signer's still accepts them right away: a minute, or a tenth of a
 * short lifetime, so that the backdating never dominates it (renewal comes at
 * two thirds of notBefore..notAfter, which must lie in the future).
 */
const CLOCK_SKEW_MS = 60_000;

export function validityWindow(now: Date, lifetimeMs: number): { notBefore: Date; notAfter: Date } {
  const skew = Math.min(CLOCK_SKEW_MS, lifetimeMs / 10);
  return { notBefore: new Date(now.getTime() - skew), notAfter: new Date(now.getTime() + lifetimeMs) };
}
