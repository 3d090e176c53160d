import type { Logger } from 'pino';
import type { NodeView } from '../proto/gen/trellis/v1/dispatcher';
import { countingProcesses, type KernelAction } from './kernel';

export interface PassOutcome {
  writes: number;
  actions: string[];
  /** The writes `actions` describes. */
  applied: readonly KernelAction[];
  /** Parts of the view that could not be programmed this pass, and why. */
  skipped: string[];
  /** Endpoints of the view those parts leave unprogrammed (none when not given). */
  unprogrammedEndpointIds?: readonly string[];
  pass: PassKind;
}

export type PassKind = 'full' | 'scoped';

/** What the loop drives: the Reconciler (plus, in the agent, the sandboxes' files). */
export interface ConvergeTarget<Survey, Planned> {
  /** A pass over what changed since the last pass that succeeded (a full one when it must be). */
  reconcileChange(view: NodeView): Promise<PassOutcome>;
  /** The reading half of a full pass: writes nothing, so it runs while changes are written. */
  survey(view: NodeView): Promise<Survey>;
  /** The planning half of a full pass, for the newest view, over a survey that may be older: writes nothing either. */
  planSurveyed(view: NodeView, survey: Survey): Promise<Planned>;
  /** The writing half, while no other pass writes: undefined when a change was written since it was planned. */
  applyPlanned(view: NodeView, planned: Planned): Promise<PassOutcome | undefined>;
  /** A full pass over a survey in one go, while no other pass writes. */
  reconcileSurveyed(view: NodeView, survey: Survey): Promise<PassOutcome>;
}

/** Plans a full pass makes before it plans and writes in one go regardless (each lost to a change written meanwhile). */
const PLANS_BEFORE_WRITING_REGARDLESS = 3;

interface LockedPass {
  view: NodeView;
  outcome: PassOutcome;
  waitedSeconds: number;
}

/** What one pass did. */
export interface PassReport {
  ok: boolean;
  /** A failed pass that was to be scoped counts as scoped, whatever it fell back to. */
  pass: PassKind;
  seconds: number;
  /** The kernel writes of a pass that succeeded; none for one that failed. */
  writes: readonly KernelAction[];
  /**
   * The writes that repaired drift: made although the view had not changed since the last
   * successful pass, so something changed the kernel behind the agent's back.
   */
  drift: readonly KernelAction[];
  /** Processes the pass spawned (reads and writes). */
  processes: number;
  /** How long the oldest view this pass took had waited for a pass to start writing it; 0 for none. */
  waitedSeconds: number;
}

export interface ConvergeObserver {
  passFinished(report: PassReport): void;
}

const NO_OBSERVER: ConvergeObserver = { passFinished: () => undefined };

/**
 * Runs reconcile passes against the newest view, in two lanes that share one write lock.
 *
 * - Changes: each view that arrives is written by a scoped pass (views that arrive meanwhile
 *   collapse into the next one).
 * - Drift: a timer runs a full pass, level-triggered, so whatever changed behind the agent's back is
 *   repaired. Its reading half (a process per namespace, seconds on a busy node) and its planning
 *   half hold no lock: scoped passes run meanwhile, the planning half reads again what they
 *   touched, and a plan that a change overtook is made again. So a change never waits behind a
 *   full pass's reads or planning, only behind its writes, which on a converged node are none.
 *   This rather than slices of a full pass: a slice would read each network namespace again for
 *   every slice of sandboxes on it, and a pass made of slices is not one consistent reading.
 *
 * Until a pass has succeeded (after a start or a failure) every pass is a full one, taken by the
 * change lane; the timer then retries there.
 */
export class ConvergeLoop<Survey, Planned> {
  private latest: NodeView | undefined;
  /** When the oldest view no pass has taken yet arrived. */
  private waitingSince: number | undefined;
  private changePending = false;
  private changeLane: Promise<void> | undefined;
  private fullLane: Promise<void> | undefined;
  private writeLock: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private passes = 0;
  private lastSkipped = '';
  /** The view the last successful pass made the kernel match; undefined after a failure. */
  private converged: NodeView | undefined;

  constructor(
    private readonly target: ConvergeTarget<Survey, Planned>,
    private readonly logger: Logger,
    private readonly onConverged: (view: NodeView, outcome: PassOutcome) => void,
    private readonly resyncIntervalMs: number,
    private readonly observer: ConvergeObserver = NO_OBSERVER,
    /**
     * Whether two views ask the kernel for the same thing (then writes are drift repairs). The
     * revision says so, but for a gossiping agent, whose views also change with what gossip brings
     * at one revision (agent/gossip/composed-view.ts).
     */
    private readonly sameDesired: (a: NodeView, b: NodeView) => boolean = (a, b) => a.revision === b.revision,
  ) {}

  offer(view: NodeView): void {
    this.latest = view;
    this.waitingSince ??= performance.now();
    this.kickChange();
  }

  /** Runs a change pass over the view held now: something besides the view changed (which endpoints are ready). */
  offerAgain(): void {
    if (this.latest) this.offer(this.latest);
  }

  start(): void {
    this.timer = setInterval(() => this.kickFull(), this.resyncIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.changeLane, this.fullLane]);
  }

  private kickChange(): void {
    if (!this.latest) return;
    this.changePending = true;
    this.changeLane ??= this.drainChanges().finally(() => (this.changeLane = undefined));
  }

  private kickFull(): void {
    if (!this.latest) return;
    if (this.converged === undefined) return this.kickChange();
    this.fullLane ??= this.fullPass().finally(() => (this.fullLane = undefined));
  }

  private async drainChanges(): Promise<void> {
    while (this.changePending) {
      this.changePending = false;
      await this.measured('scoped', async () => this.locked((view) => this.target.reconcileChange(view)));
    }
  }

  private async fullPass(): Promise<void> {
    const surveyed = this.latest;
    if (surveyed === undefined) return;
    await this.measured('full', async () => {
      const survey = await this.target.survey(surveyed);
      for (let plans = 1; plans < PLANS_BEFORE_WRITING_REGARDLESS; plans++) {
        const planned = this.latest as NodeView;
        const plan = await this.target.planSurveyed(planned, survey);
        const applied = await this.locked((view) => (view === planned ? this.target.applyPlanned(view, plan) : Promise.resolve(undefined)));
        if (applied !== undefined) return applied;
      }
      return this.locked((view) => this.target.reconcileSurveyed(view, survey));
    });
  }

  /**
   * Runs a writing pass for the newest view once no other pass writes; undefined when `write`
   * declined, which leaves that view and the changes before it to the next pass.
   */
  private locked(write: (view: NodeView) => Promise<PassOutcome | undefined>): Promise<LockedPass | undefined> {
    const run = this.writeLock.then(async () => {
      const view = this.latest as NodeView;
      const since = this.waitingSince;
      const pending = this.changePending;
      const waitedSeconds = since === undefined ? 0 : (performance.now() - since) / 1000;
      // Whichever lane takes the newest view takes every change that came before it.
      this.changePending = false;
      this.waitingSince = undefined;
      const outcome = await write(view);
      if (outcome !== undefined) return { view, outcome, waitedSeconds };
      this.waitingSince = since ?? this.waitingSince;
      if (pending) this.kickChange();
      return undefined;
    });
    this.writeLock = run.then(() => undefined, () => undefined);
    return run;
  }

  /** Runs and reports a pass; one that `pass` gives up on (undefined) is no pass at all. */
  private async measured(kind: PassKind, pass: () => Promise<LockedPass | undefined>): Promise<void> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const counted = await countingProcesses(async () => {
      try {
        return { done: await pass() };
      } catch (error) {
        return { error };
      }
    });
    const { processes } = counted;
    if ('error' in counted.result) {
      this.converged = undefined;
      this.observer.passFinished({ ok: false, pass: kind, seconds: seconds(), writes: [], drift: [], processes, waitedSeconds: 0 });
      this.logger.error({ err: counted.result.error, pass: kind }, 'reconcile pass failed; the next pass retries');
      return;
    }
    if (counted.result.done === undefined) return;
    const { view, outcome, waitedSeconds } = counted.result.done;
    const { writes, actions, applied, skipped } = outcome;
    const drift = this.converged !== undefined && this.sameDesired(view, this.converged) ? applied : [];
    this.converged = view;
    this.observer.passFinished({ ok: true, pass: outcome.pass, seconds: seconds(), writes: applied, drift, processes, waitedSeconds });
    this.passes += 1;
    this.reportSkipped(view, skipped);
    const facts = { revision: view.revision, pass: outcome.pass };
    if (drift.length > 0) this.logger.warn({ ...facts, writes, actions }, 'kernel drift repaired');
    else if (writes > 0) this.logger.info({ ...facts, writes, actions }, 'kernel reconciled');
    // The first pass is always reported: after a restart it shows whether anything was rewritten.
    else if (this.passes === 1) this.logger.info(facts, 'kernel already converged');
    else this.logger.debug(facts, 'kernel already converged');
    this.onConverged(view, outcome);
  }

  /** Once per change, not every pass: an adopted namespace can stay missing for a long time. */
  private reportSkipped(view: NodeView, skipped: readonly string[]): void {
    const key = skipped.join('\n');
    if (key === this.lastSkipped) return;
    this.lastSkipped = key;
    if (skipped.length > 0) this.logger.warn({ revision: view.revision, skipped }, 'parts of the view are not programmed');
    else this.logger.info({ revision: view.revision }, 'every part of the view is programmed again');
  }
}
