import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { findRepoRoot } from '../lab/context';
import { AGENT_METRICS_PORT, MANAGER_METRICS_PORT } from '../lab/plan';
import { sampleValue } from '../../proto/runtime/prometheus-text';
import type { LabState } from '../lab/state';

export type { LabState };

/** Drives the lab exactly as a user does: `npm run lab -- …` is `node dist/e2e/lab/main.js …`. */
const labMain = join(findRepoRoot(__dirname), 'dist', 'e2e', 'lab', 'main.js');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runLab(args: string[]): CommandResult {
  const result = spawnSync(process.execPath, [labMain, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

export function mustSucceed(what: string, result: CommandResult): CommandResult {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  return result;
}

export interface LabUpOptions {
  /** the agents' --resync-interval, e.g. "2s" */
  resyncInterval?: string;
  /** lab up's --ready-timeout (default: the lab's own) */
  readyTimeoutSeconds?: number;
  /** lab up's --from-release: the release artifact the lab runs (default: $TRELLIS_LAB_FROM_RELEASE, else the build in dist/) */
  fromRelease?: string;
  /** lab up's --gossip: the agents gossip remote endpoints (issue #16) */
  gossip?: boolean;
}

/**
 * A release artifact's path: every scenario's lab then runs from it, with config files
 * (`lab up --from-release`). e2e/from-release.test.ts sets it and runs the scenarios.
 */
export const LAB_FROM_RELEASE_ENV = 'TRELLIS_LAB_FROM_RELEASE';

export function labFromRelease(): string | undefined {
  return process.env[LAB_FROM_RELEASE_ENV] || undefined;
}

/**
 * `it` for a test of the daemons' behaviour that the scenario's run on the build covers, and that
 * its run on the release artifact (the same code, bundled) skips to keep CI short: a long wait, or
 * a table of input checks. A function, so the variable is read when the scenario is defined.
 */
export function itOnTheBuild(): jest.It {
  return labFromRelease() === undefined ? it : it.skip;
}

export function labUp(managers: number, agents: number, options: LabUpOptions = {}): LabState {
  runLab(['down']);
  const release = options.fromRelease ?? labFromRelease();
  const extra = [
    ...(release === undefined ? [] : ['--from-release', release]),
    ...(options.resyncInterval === undefined ? [] : ['--resync-interval', options.resyncInterval]),
    ...(options.readyTimeoutSeconds === undefined ? [] : ['--ready-timeout', String(options.readyTimeoutSeconds)]),
    ...(options.gossip ? ['--gossip'] : []),
  ];
  const result = mustSucceed('lab up', runLab(['up', '--managers', String(managers), '--agents', String(agents), ...extra]));
  return JSON.parse(result.stdout) as LabState;
}

export function labDown(): void {
  mustSucceed('lab down', runLab(['down']));
}

/** Runs a command on a lab host; resolves with its exit code and output. */
export function onHost(host: string, command: string[]): CommandResult {
  return runLab(['exec', host, '--', ...command]);
}

/** Like onHost, asynchronous: for commands that must run while the test does other things. */
export function onHostInBackground(host: string, command: string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [labMain, 'exec', host, '--', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function lab(args: string[]): CommandResult {
  return mustSucceed(`lab ${args.join(' ')}`, runLab(args));
}

/** `trellis ARGS` on a host (the lab points it at the manager). */
export function trellis(host: string, args: string[]): CommandResult {
  return onHost(host, ['trellis', ...args]);
}

export function trellisJson<T>(host: string, args: string[]): T {
  return JSON.parse(mustSucceed(`trellis ${args.join(' ')}`, trellis(host, args)).stdout) as T;
}

export function trellisOk(host: string, args: string[]): string {
  return mustSucceed(`trellis ${args.join(' ')}`, trellis(host, args)).stdout.trim();
}

interface ManagerList {
  managers: Array<{ id: string; address: string }>;
  leaderId: string;
}

/** The lab host whose manager leads now, as the managers reached from `from` say. */
export function leaderHost(state: LabState, from = 'a1'): string {
  const answer = trellisJson<ManagerList>(from, ['manager', 'ls', '--format', 'json']);
  const leader = answer.managers.find((m) => m.id === answer.leaderId);
  const host = state.hosts.find((h) => leader !== undefined && leader.address.startsWith(`${h.address}:`));
  if (!host) throw new Error(`no leader among ${JSON.stringify(answer)}`);
  return host.name;
}

export type LabHost = LabState['hosts'][number];

export function labHost(state: LabState, name: string): LabHost {
  const found = state.hosts.find((h) => h.name === name);
  if (!found) throw new Error(`no lab host ${name}`);
  return found;
}

/** The size of a host's daemon log now: a marker for logSince. */
export function logSize(state: LabState, host: string): number {
  const log = state.hosts.find((h) => h.name === host)?.log ?? '';
  return Number(onHost(host, ['stat', '-c', '%s', log]).stdout.trim());
}

/** What a host's daemon log gained after the marker logSize gave. */
export function logSince(state: LabState, host: string, marker: number): string {
  const log = state.hosts.find((h) => h.name === host)?.log ?? '';
  return onHost(host, ['tail', '-c', `+${marker + 1}`, log]).stdout;
}

/** Every Prometheus metric of a lab host's daemon (manager or agent), scraped from inside its host, where its metrics address is reachable. */
export function scrapeMetrics(host: LabHost): string {
  const port = host.role === 'manager' ? MANAGER_METRICS_PORT : AGENT_METRICS_PORT;
  const url = `http://${host.address}:${port}/metrics`;
  const script = `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  return mustSucceed(`scrape ${url}`, onHost(host.name, [process.execPath, '-e', script])).stdout;
}

/** One sample of a lab host's daemon's metrics (0 when absent). */
export function hostMetric(host: LabHost, name: string, labels = ''): number {
  return sampleValue(scrapeMetrics(host), name, labels) ?? 0;
}

/** Reads a kernel table of a lab host as JSON, e.g. kernelJson('a1', ['ip', '-d', 'link', 'show']). */
export function kernelJson<T>(host: string, command: string[]): T {
  const [tool, ...rest] = command;
  const out = mustSucceed(command.join(' '), onHost(host, [tool ?? 'ip', '-j', ...rest])).stdout.trim();
  return (out ? JSON.parse(out) : []) as T;
}

/**
 * Polls `check` until it returns (or resolves to) true or the bound passes; a probe that throws
 * (a manager mid-election, say) counts as "not yet". No timing is asserted.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for: ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
}
