/*
 * Certificates start a minute in the past so a peer whose clock is slightly
 * behind the signer's still accepts them right away.
 */
const CLOCK_SKEW_MS = 60_000;

export function validityWindow(now: Date, lifetimeMs: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + lifetimeMs) };
}
