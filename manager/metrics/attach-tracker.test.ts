import { AttachTracker, type AttachTrackerOptions, type UnconfirmedReason } from './attach-tracker';

/** A tracker on a hand-driven clock, recording what it observes. */
function tracker(limits: Pick<AttachTrackerOptions, 'maxPending' | 'maxAgeMs'> = {}) {
  let now = 1_000;
  const confirmed: number[] = [];
  const unconfirmed: UnconfirmedReason[] = [];
  const subject = new AttachTracker({
    now: () => now,
    confirmed: (seconds) => confirmed.push(seconds),
    unconfirmed: (reason) => unconfirmed.push(reason),
    ...limits,
  });
  return {
    subject,
    confirmed,
    unconfirmed,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('AttachTracker', () => {
  it('observes the time until the last hosting node reports the revision', () => {
    const t = tracker();
    t.subject.attached(['a', 'b'], 10);
    t.advance(30);
    t.subject.programmed('a', 10);
    expect(t.confirmed).toEqual([]);
    t.advance(70);
    t.subject.programmed('b', 12);
    expect(t.confirmed).toEqual([0.1]);
    expect(t.subject.size).toBe(0);
  });

  it('ignores reports of older revisions', () => {
    const t = tracker();
    t.subject.attached(['a'], 10);
    t.advance(5);
    t.subject.programmed('a', 9);
    expect(t.confirmed).toEqual([]);
    t.advance(5);
    t.subject.programmed('a', 10);
    expect(t.confirmed).toEqual([0.01]);
  });

  it('settles every attach a single report covers, each with its own duration', () => {
    const t = tracker();
    t.subject.attached(['a'], 1);
    t.advance(100);
    t.subject.attached(['a'], 2);
    t.advance(100);
    t.subject.attached(['a'], 3);
    t.advance(100);
    t.subject.programmed('a', 2);
    expect(t.confirmed).toEqual([0.3, 0.2]);
    t.subject.programmed('a', 3);
    expect(t.confirmed).toEqual([0.3, 0.2, 0.1]);
  });

  it('confirms at once an attach a node already reported past', () => {
    const t = tracker();
    t.subject.programmed('a', 20);
    t.subject.attached(['a'], 15);
    expect(t.confirmed).toEqual([0]);
    expect(t.subject.size).toBe(0);
  });

  it('drops attaches older than the age limit as expired', () => {
    const t = tracker({ maxAgeMs: 1_000 });
    t.subject.attached(['a', 'down'], 1);
    t.advance(500);
    t.subject.attached(['a'], 2);
    t.subject.programmed('a', 2);
    expect(t.confirmed).toEqual([0]);
    t.advance(600);
    t.subject.expire();
    expect(t.unconfirmed).toEqual(['expired']);
    expect(t.subject.size).toBe(0);
    // A late report for the dropped attach observes nothing.
    t.subject.programmed('down', 1);
    expect(t.confirmed).toEqual([0]);
  });

  it('keeps at most maxPending attaches, dropping the oldest', () => {
    const t = tracker({ maxPending: 3 });
    for (let revision = 1; revision <= 5; revision += 1) {
      t.subject.attached([`n${revision % 2}`], revision);
      t.advance(10);
    }
    expect(t.subject.size).toBe(3);
    expect(t.unconfirmed).toEqual(['overflow', 'overflow']);
    // Revisions 3, 4 and 5 remain: n1 owes 3 and 5, n0 owes 4.
    t.subject.programmed('n1', 5);
    expect(t.confirmed).toEqual([0.03, 0.01]);
    t.subject.programmed('n0', 4);
    expect(t.confirmed).toEqual([0.03, 0.01, 0.02]);
    expect(t.subject.size).toBe(0);
  });

  it('abandons everything pending when leadership is lost', () => {
    const t = tracker();
    t.subject.attached(['a'], 1);
    t.subject.attached(['b'], 2);
    t.subject.abandon();
    expect(t.unconfirmed).toEqual(['abandoned', 'abandoned']);
    t.subject.programmed('a', 2);
    expect(t.confirmed).toEqual([]);
  });

  it('stays bounded under a long run with a node that never reports', () => {
    const t = tracker({ maxPending: 100, maxAgeMs: 1_000 });
    for (let revision = 1; revision <= 10_000; revision += 1) {
      t.subject.attached(['live', 'dead'], revision);
      t.subject.programmed('live', revision);
      t.advance(1);
      expect(t.subject.size).toBeLessThanOrEqual(100);
    }
    expect(t.confirmed).toEqual([]);
    expect(t.unconfirmed.length).toBe(10_000 - 100);
  });
});
