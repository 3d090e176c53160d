import type { Logger } from 'pino';
import type { NodeView } from '../proto/gen/trellis/v1/dispatcher';
import type { KernelAction } from './kernel';

export interface ConvergeTarget {
  /** `applied`: the writes `actions` describes; `skipped`: parts of the view that could not be programmed this pass, and why. */
  reconcile(view: NodeView): Promise<{ writes: number; actions: string[]; applied: readonly KernelAction[]; skipped: string[] }>;
}

/** What one pass did. */
export interface PassReport {
  ok: boolean;
  seconds: number;
  /** The kernel writes of a pass that succeeded; none for one that failed. */
  writes: readonly KernelAction[];
  /**
   * The writes that repaired drift: made although the view had not changed since the last
   * successful pass, so something changed the kernel behind the agent's back.
   */
  drift: readonly KernelAction[];
}

export interface ConvergeObserver {
  passFinished(report: PassReport): void;
}

const NO_OBSERVER: ConvergeObserver = { passFinished: () => undefined };

/**
 * Runs one reconcile pass at a time against the newest view: views that arrive
 * during a pass collapse into the next one, and a timer re-runs the last view so
 * that drift made behind the agent's back is repaired (level-triggered).
 */
export class ConvergeLoop {
  private latest: NodeView | undefined;
  private pending = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private passes = 0;
  private lastSkipped = '';
  /** The view revision the last successful pass made the kernel match. */
  private convergedRevision: number | undefined;

  constructor(
    private readonly target: ConvergeTarget,
    private readonly logger: Logger,
    private readonly onConverged: (view: NodeView) => void,
    private readonly resyncIntervalMs: number,
    private readonly observer: ConvergeObserver = NO_OBSERVER,
  ) {}

  offer(view: NodeView): void {
    this.latest = view;
    this.kick();
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.resyncIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private kick(): void {
    if (!this.latest) return;
    this.pending = true;
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  private async drain(): Promise<void> {
    while (this.pending && this.latest) {
      this.pending = false;
      const view = this.latest;
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const { writes, actions, applied, skipped } = await this.target.reconcile(view);
        const drift = view.revision === this.convergedRevision ? applied : [];
        this.convergedRevision = view.revision;
        this.observer.passFinished({ ok: true, seconds: seconds(), writes: applied, drift });
        this.passes += 1;
        this.reportSkipped(view, skipped);
        if (drift.length > 0) this.logger.warn({ revision: view.revision, writes, actions }, 'kernel drift repaired');
        else if (writes > 0) this.logger.info({ revision: view.revision, writes, actions }, 'kernel reconciled');
        // The first pass is always reported: after a restart it shows whether anything was rewritten.
        else if (this.passes === 1) this.logger.info({ revision: view.revision }, 'kernel already converged');
        else this.logger.debug({ revision: view.revision }, 'kernel already converged');
        this.onConverged(view);
      } catch (error) {
        this.observer.passFinished({ ok: false, seconds: seconds(), writes: [], drift: [] });
        this.logger.error({ err: error, revision: view.revision }, 'reconcile pass failed; the next pass retries');
      }
    }
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
