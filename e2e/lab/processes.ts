/** The lab's daemons: started detached inside a host namespace, recognised and stopped by pid. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inNamespace } from './plan';
import type { HostState } from './state';

const POLL_MS = 100;

/**
 * Starts the host's daemon in its own session (so `up` can return and a Ctrl-C in the user's
 * terminal does not reach it), appending stdout and stderr to the host's log. nsenter execs the
 * command, so the pid returned is the daemon's own.
 */
export function startDaemon(host: HostState, env: Record<string, string> = {}): number {
  fs.mkdirSync(path.dirname(host.log), { recursive: true });
  const log = fs.openSync(host.log, 'a');
  try {
    const extra = Object.entries(env).map(([name, value]) => `${name}=${value} `).join('');
    fs.writeSync(log, `--- lab: ${new Date().toISOString()} starting: ${extra}${host.command.join(' ')}\n`);
    const [file, ...args] = inNamespace(host.namespace, host.command);
    const child = spawn(file, args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...env } });
    child.on('error', () => undefined); // a failed spawn shows as a missing pid, reported below
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${file} for host ${host.name}`);
    return child.pid;
  } finally {
    fs.closeSync(log);
  }
}

/**
 * Whether pid still is the daemon we started for this host, not a process that got the pid after
 * ours ended: its argv must be the host's command (or, in the instant before nsenter execs, the
 * nsenter launcher). A zombie has an empty argv, so it counts as gone.
 */
export function isHostDaemon(pid: number, host: HostState): boolean {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return false;
  }
  const same = (expected: readonly string[]): boolean =>
    argv.length === expected.length && argv.every((arg, i) => arg === expected[i]);
  return same(host.command) || same(inNamespace(host.namespace, host.command));
}

export function isRunning(host: HostState): boolean {
  return host.pid !== null && isHostDaemon(host.pid, host);
}

/**
 * Sends signal to the host's daemon and waits until it is gone; if it outlives graceMs it gets
 * SIGKILL. Does nothing when the pid no longer is ours.
 */
export async function stopDaemon(host: HostState, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const pid = host.pid;
  if (pid === null || !isHostDaemon(pid, host)) return;
  sendSignal(pid, signal);
  if (await waitUntilGone(pid, host, graceMs)) return;
  sendSignal(pid, 'SIGKILL');
  if (!(await waitUntilGone(pid, host, graceMs))) {
    throw new Error(`host ${host.name}: process ${pid} survived SIGKILL`);
  }
}

async function waitUntilGone(pid: number, host: HostState, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isHostDaemon(pid, host)) {
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
