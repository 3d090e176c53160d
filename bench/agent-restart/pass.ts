/**
 * One reconcile pass in a process of its own: what an agent does first after it restarts.
 * `node pass.js JOB.json` reads a PassJob, reconciles once with a fresh Reconciler and prints one
 * JSON line, a PassResult. The profile covers the pass alone, from constructing the Reconciler to
 * reconcile() returning; then the DNS resolver comes back as the agent brings it back after the
 * pass (dns); the caller times the whole process.
 */
import { readFileSync } from 'node:fs';
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { BenchHost } from '../netns/hosts';
import { profiled, type PassProfile } from './counting-runner';
import { restartDns, type DnsRestart } from './dns-probe';

export interface PassJob {
  host: BenchHost;
  owner: string;
  /** NodeView.toJSON() of the view. */
  view: unknown;
}

export interface PassResult {
  profile: PassProfile;
  /** The first few writes, if any. */
  actions: string[];
  skipped: number;
  dns: DnsRestart;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: pass.js JOB.json');
  const job = JSON.parse(readFileSync(file, 'utf8')) as PassJob;
  const view = NodeView.fromJSON(job.view);
  const { profile, result } = await profiled(job.host, job.owner, (reconciler) => reconciler.reconcile(view));
  const dns = await restartDns(view);
  const output: PassResult = { profile, actions: result.actions.slice(0, 5), skipped: result.skipped.length, dns };
  process.stdout.write(JSON.stringify(output) + '\n');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
