import pino from 'pino';
import type { NodeView } from '../proto/gen/trellis/v1/dispatcher';
import { ConvergeLoop, type ConvergeTarget, type PassKind, type PassOutcome, type PassReport } from './converge-loop';
import { HOST, bridgeAction, describeAction, ipAction, type KernelAction } from './kernel';

const fdbWrite = bridgeAction(HOST, 'fdb', 'replace', '02:42:0a:e7:01:03', 'dev', 'trvx-100', 'dst', '198.18.0.2', 'self', 'permanent');
const neighbourWrite = ipAction(HOST, 'neigh', 'replace', '10.231.1.3', 'lladdr', '02:42:0a:e7:01:03', 'dev', 'trvx-100', 'nud', 'permanent');

function viewAt(revision: number): NodeView {
  return { revision, nodeId: 'A', nodeName: 'a', advertiseAddr: '198.18.0.1', networks: [], sandboxes: [], endpoints: [], members: [], overlaySubnets: [], services: [] };
}

/**
 * A kernel stand-in: each pass makes the writes (or fails as) the test queued, then none. A full
 * pass's survey waits for `releaseSurvey` when `holdSurveys` is set.
 */
class FakeTarget implements ConvergeTarget<number, number> {
  readonly queued: Array<KernelAction[] | Error> = [];
  readonly calls: string[] = [];
  holdSurveys = false;
  private surveysHeld: Array<() => void> = [];

  async reconcileChange(view: NodeView): Promise<PassOutcome> {
    this.calls.push(`change ${view.revision}`);
    return this.next('scoped');
  }

  async survey(view: NodeView): Promise<number> {
    this.calls.push(`survey ${view.revision}`);
    if (this.holdSurveys) await new Promise<void>((resolve) => this.surveysHeld.push(resolve));
    return view.revision;
  }

  async planSurveyed(view: NodeView, surveyed: number): Promise<number> {
    this.calls.push(`plan ${view.revision} over survey ${surveyed}`);
    return view.revision;
  }

  async applyPlanned(_view: NodeView, planned: number): Promise<PassOutcome | undefined> {
    this.calls.push(`apply plan ${planned}`);
    return this.next('full');
  }

  async reconcileSurveyed(view: NodeView, surveyed: number): Promise<PassOutcome> {
    this.calls.push(`full ${view.revision} over survey ${surveyed}`);
    return this.next('full');
  }

  releaseSurveys(): void {
    for (const release of this.surveysHeld.splice(0)) release();
  }

  private next(pass: PassKind): PassOutcome {
    const next = this.queued.shift() ?? [];
    if (next instanceof Error) throw next;
    return { writes: next.length, actions: next.map(describeAction), applied: next, skipped: [], pass };
  }
}

const RESYNC_MS = 1000;
let target: FakeTarget;
let reports: PassReport[];
let loop: ConvergeLoop<number, number>;

beforeEach(() => {
  jest.useFakeTimers();
  target = new FakeTarget();
  reports = [];
  loop = new ConvergeLoop(target, pino({ level: 'silent' }), () => undefined, RESYNC_MS, { passFinished: (report) => reports.push(report) });
  loop.start();
});
afterEach(async () => {
  target.releaseSurveys();
  await loop.stop();
  jest.useRealTimers();
});

describe('ConvergeLoop drift accounting', () => {
  /** Offers a view (or, without one, lets the resync timer fire) and waits until the pass is over. */
  async function pass(view?: NodeView): Promise<PassReport | undefined> {
    const before = reports.length;
    if (view) loop.offer(view);
    else await jest.advanceTimersByTimeAsync(RESYNC_MS);
    await jest.advanceTimersByTimeAsync(0);
    return reports.length > before ? reports[reports.length - 1] : undefined;
  }


  it('counts writes of a timer pass over an unchanged view as drift, and writes for a new view as none', async () => {
    target.queued.push([fdbWrite, neighbourWrite]);
    expect(await pass(viewAt(1))).toMatchObject({ ok: true, writes: [fdbWrite, neighbourWrite], drift: [] });

    expect(await pass()).toMatchObject({ ok: true, writes: [], drift: [] });

    target.queued.push([fdbWrite]);
    expect(await pass()).toMatchObject({ ok: true, writes: [fdbWrite], drift: [fdbWrite] });

    target.queued.push([neighbourWrite]);
    expect(await pass(viewAt(2))).toMatchObject({ ok: true, writes: [neighbourWrite], drift: [] });

    // The same revision offered again (a session resumed with nothing new) is no change either.
    target.queued.push([neighbourWrite]);
    expect(await pass(viewAt(2))).toMatchObject({ drift: [neighbourWrite] });
  });

  it("asks the agent whether two views of one revision ask the same (a gossiping agent's differ by what gossip brought)", async () => {
    await loop.stop();
    const composed = (revision: number, remote: string): NodeView => ({ ...viewAt(revision), nodeName: remote });
    loop = new ConvergeLoop(target, pino({ level: 'silent' }), () => undefined, RESYNC_MS, { passFinished: (report) => reports.push(report) }, (a, b) => a.revision === b.revision && a.nodeName === b.nodeName);
    loop.start();
    target.queued.push([fdbWrite]);
    await pass(composed(3, 'gossip-1'));
    // Gossip changed at the same revision: its writes are the change, not drift.
    target.queued.push([neighbourWrite]);
    expect(await pass(composed(3, 'gossip-2'))).toMatchObject({ ok: true, writes: [neighbourWrite], drift: [] });
    target.queued.push([fdbWrite]);
    expect(await pass()).toMatchObject({ ok: true, writes: [fdbWrite], drift: [fdbWrite] });
  });

  it('does not count the first pass after a start as drift: whatever it repairs happened while no agent ran', async () => {
    target.queued.push([fdbWrite]);
    expect(await pass(viewAt(7))).toMatchObject({ ok: true, drift: [] });
  });

  it('measures against the last successful pass: a failed pass reports no writes and leaves the reference unchanged', async () => {
    target.queued.push([], new Error('kernel writes failed'), [fdbWrite], [neighbourWrite]);
    await pass(viewAt(1));

    const failed = await pass(viewAt(2));
    expect(failed).toMatchObject({ ok: false, writes: [], drift: [] });
    expect(failed?.seconds).toBeGreaterThanOrEqual(0);

    // Finishing what the failed pass for revision 2 left undone is not drift: the kernel never matched revision 2.
    expect(await pass()).toMatchObject({ ok: true, writes: [fdbWrite], drift: [] });
    // Once it has, a change behind the agent's back is.
    expect(await pass()).toMatchObject({ ok: true, writes: [neighbourWrite], drift: [neighbourWrite] });
  });
});

describe('ConvergeLoop lanes', () => {
  it('writes a change while a full pass is still reading, and the full pass then writes for the newest view', async () => {
    loop.offer(viewAt(1));
    await jest.advanceTimersByTimeAsync(0);
    target.holdSurveys = true;
    await jest.advanceTimersByTimeAsync(RESYNC_MS);
    expect(target.calls).toEqual(['change 1', 'survey 1']);

    loop.offer(viewAt(2));
    await jest.advanceTimersByTimeAsync(0);
    expect(target.calls).toEqual(['change 1', 'survey 1', 'change 2']);
    expect(reports.map((report) => report.pass)).toEqual(['scoped', 'scoped']);

    target.releaseSurveys();
    await jest.advanceTimersByTimeAsync(0);
    expect(target.calls).toEqual(['change 1', 'survey 1', 'change 2', 'plan 2 over survey 1', 'apply plan 2']);
    expect(reports.map((report) => report.pass)).toEqual(['scoped', 'scoped', 'full']);
  });

  it('runs no full pass until a pass has succeeded: the timer retries the failed one in the change lane', async () => {
    target.queued.push(new Error('kernel writes failed'));
    loop.offer(viewAt(1));
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(RESYNC_MS);
    expect(target.calls).toEqual(['change 1', 'change 1']);
    expect(reports.map((report) => report.ok)).toEqual([false, true]);
    await jest.advanceTimersByTimeAsync(RESYNC_MS);
    expect(target.calls).toEqual(['change 1', 'change 1', 'survey 1', 'plan 1 over survey 1', 'apply plan 1']);
  });

  it('collapses views that arrive while a pass writes into one pass for the newest', async () => {
    loop.offer(viewAt(1));
    loop.offer(viewAt(2));
    loop.offer(viewAt(3));
    await jest.advanceTimersByTimeAsync(0);
    expect(target.calls).toEqual(['change 3']);
  });
});
