import { performance } from 'node:perf_hooks';
import { percentile, round } from '../stats';

/** One write by client `client`; resolves when the system said it committed, rejects otherwise. */
export type Write = (client: number, sequence: number) => Promise<void>;

export interface LoadOptions {
  clients: number;
  warmupMs: number;
  measureMs: number;
}

export interface LoadResult {
  clients: number;
  commits: number;
  commitsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Writes that failed (not counted as commits), during the whole run. */
  errors: number;
  firstError?: string;
}

/**
 * A closed loop: `clients` concurrent loops, each awaiting its write before the
 * next. Writes that start after the warm-up and finish inside the measured
 * window count; the others load the system but are not timed.
 */
export async function runLoad(write: Write, options: LoadOptions): Promise<LoadResult> {
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const measureTo = measureFrom + options.measureMs;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;

  async function loop(client: number): Promise<void> {
    for (let sequence = 0; performance.now() < measureTo; sequence++) {
      const began = performance.now();
      try {
        await write(client, sequence);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
        // A failing system is not hammered; the row reports the errors.
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const ended = performance.now();
      if (began >= measureFrom && ended <= measureTo) latencies.push(ended - began);
    }
  }

  await Promise.all(Array.from({ length: options.clients }, (_, client) => loop(client)));
  const commits = latencies.length;
  return {
    clients: options.clients,
    commits,
    commitsPerS: Math.round(commits / (options.measureMs / 1000)),
    p50Ms: commits ? round(percentile(latencies, 50), 2) : NaN,
    p99Ms: commits ? round(percentile(latencies, 99), 2) : NaN,
    errors,
    firstError,
  };
}
