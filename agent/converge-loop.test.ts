import pino from 'pino';
import type { NodeView } from '../proto/gen/trellis/v1/dispatcher';
import { ConvergeLoop, type ConvergeTarget, type PassReport } from './converge-loop';
import { HOST, bridgeAction, describeAction, ipAction, type KernelAction } from './kernel';

const fdbWrite = bridgeAction(HOST, 'fdb', 'replace', '02:42:0a:e7:01:03', 'dev', 'trvx-100', 'dst', '198.18.0.2', 'self', 'permanent');
const neighbourWrite = ipAction(HOST, 'neigh', 'replace', '10.231.1.3', 'lladdr', '02:42:0a:e7:01:03', 'dev', 'trvx-100', 'nud', 'permanent');

function viewAt(revision: number): NodeView {
  return { revision, nodeId: 'A', nodeName: 'a', advertiseAddr: '198.18.0.1', networks: [], sandboxes: [], endpoints: [], overlaySubnets: [] };
}

/** A kernel stand-in: each pass makes the writes (or fails as) the test queued, then none. */
class FakeTarget implements ConvergeTarget {
  readonly queued: Array<KernelAction[] | Error> = [];

  async reconcile(): Promise<{ writes: number; actions: string[]; applied: KernelAction[]; skipped: string[] }> {
    const next = this.queued.shift() ?? [];
    if (next instanceof Error) throw next;
    return { writes: next.length, actions: next.map(describeAction), applied: next, skipped: [] };
  }
}

describe('ConvergeLoop drift accounting', () => {
  const RESYNC_MS = 1000;
  let target: FakeTarget;
  let reports: PassReport[];
  let loop: ConvergeLoop;

  /** Offers a view (or, without one, lets the resync timer fire) and waits until the pass is over. */
  async function pass(view?: NodeView): Promise<PassReport | undefined> {
    const before = reports.length;
    if (view) loop.offer(view);
    else await jest.advanceTimersByTimeAsync(RESYNC_MS);
    await jest.advanceTimersByTimeAsync(0);
    return reports.length > before ? reports[reports.length - 1] : undefined;
  }

  beforeEach(() => {
    jest.useFakeTimers();
    target = new FakeTarget();
    reports = [];
    loop = new ConvergeLoop(target, pino({ level: 'silent' }), () => undefined, RESYNC_MS, { passFinished: (report) => reports.push(report) });
    loop.start();
  });
  afterEach(async () => {
    await loop.stop();
    jest.useRealTimers();
  });

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
