import { renewalDelayMs } from './renewal';

const at = (seconds: number): Date => new Date(Date.UTC(2030, 0, 1) + seconds * 1000);

describe('renewal delay', () => {
  const notBefore = at(0);
  const notAfter = at(900);

  it('waits until two thirds of the lifetime have passed', () => {
    expect(renewalDelayMs({ notBefore, notAfter, now: at(0) })).toBe(600_000);
    expect(renewalDelayMs({ notBefore, notAfter, now: at(100) })).toBe(500_000);
  });

  it('counts from notBefore, also when now is before it', () => {
    expect(renewalDelayMs({ notBefore, notAfter, now: at(-60) })).toBe(660_000);
  });

  it('renews at once when the moment has passed or the certificate expired', () => {
    expect(renewalDelayMs({ notBefore, notAfter, now: at(600) })).toBe(0);
    expect(renewalDelayMs({ notBefore, notAfter, now: at(800) })).toBe(0);
    expect(renewalDelayMs({ notBefore, notAfter, now: at(5000) })).toBe(0);
  });
});
