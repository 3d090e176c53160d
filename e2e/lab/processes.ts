/** The lab's daemons: started detached inside a host namespace, recognised and stopped by pid. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { envName } from '../../cli/config/settings';
import { inNamespace } from './plan';
import { daemonStatus, parseCmdline, parseStat, type DaemonRecord, type ProcessView } from './daemon-identity';
import type { HostState } from './state';

const POLL_MS = 100;

/** The pid of a daemon we started and how to recognise that very process later (see daemon-identity). */
export interface StartedDaemon {
  pid: number;
  startTime?: number;
  spawner: string[];
}

/**
 * Starts the host's daemon in its own session (so `up` can return and a Ctrl-C in the user's
 * terminal does not reach it), appending stdout and stderr to the host's log. nsenter execs the
 * command, so the pid returned is the daemon's own.
 */
export function startDaemon(host: HostState, env: Record<string, string> = {}): StartedDaemon {
  fs.mkdirSync(path.dirname(host.log), { recursive: true });
  const log = fs.openSync(host.log, 'a');
  try {
    const extra = Object.entries(env).map(([name, value]) => `${name}=${value} `).join('');
    fs.writeSync(log, `--- lab: ${new Date().toISOString()} starting: ${extra}${host.command.join(' ')}\n`);
    const [file, ...args] = inNamespace(host.namespace, host.command);
    const child = spawn(file, args, { detached: true, stdio: ['ignore', log, log], env: { ...inheritedEnvironment(host), ...env } });
    child.on('error', () => undefined); // a failed spawn shows as a missing pid, reported below
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${file} for host ${host.name}`);
    // Not yet reaped (that needs the event loop), so even a child that failed at once is still readable.
    return { pid: child.pid, startTime: viewProcess(child.pid)?.startTime, spawner: viewProcess(process.pid)?.argv ?? [] };
  } finally {
    fs.closeSync(log);
  }
}

/**
 * The lab's own environment, but for the TRELLIS_* variables of the settings the host's config
 * file sets: they would win over the file (as flags win over them), and the file is what a lab
 * from a release runs on. A variable of any other setting (TRELLIS_LOG_LEVEL, say) still applies.
 */
export function inheritedEnvironment(host: Pick<HostState, 'config'>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const overridden = new Set((host.config?.settings ?? []).map(([key]) => envName(key)));
  return Object.fromEntries(Object.entries(base).filter(([name]) => !overridden.has(name)));
}

/** What /proc shows of pid now; undefined when there is no such process. */
export function viewProcess(pid: number): ProcessView | undefined {
  try {
    const stat = parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { ...stat, argv: parseCmdline(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')) };
  } catch (error) {
    if (['ENOENT', 'ESRCH'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}

/**
 * Whether the host's daemon is still the process we started, running or on its way to running its
 * command: not a process that got the pid after ours ended, and not counted dead while the kernel is
 * still exec'ing it (its argv reads empty then).
 */
export function isRunning(host: HostState): boolean {
  return host.pid !== null && daemonStatus(viewProcess(host.pid), daemonRecord(host)) !== 'exited';
}

function daemonRecord(host: HostState): DaemonRecord {
  return { command: host.command, launcher: inNamespace(host.namespace, host.command), startTime: host.startTime, spawner: host.spawner };
}

/**
 * Sends signal to the host's daemon and waits until it is gone; if it outlives graceMs it gets
 * SIGKILL. Does nothing when the pid no longer is ours.
 */
export async function stopDaemon(host: HostState, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const pid = host.pid;
  if (pid === null || !isRunning(host)) return;
  sendSignal(pid, signal);
  if (await waitUntilGone(host, graceMs)) return;
  sendSignal(pid, 'SIGKILL');
  if (!(await waitUntilGone(host, graceMs))) {
    throw new Error(`host ${host.name}: process ${pid} survived SIGKILL`);
  }
}

async function waitUntilGone(host: HostState, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(host)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
