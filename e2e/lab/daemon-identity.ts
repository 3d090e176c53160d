/**
 * Whether a pid still is a daemon the lab started, from what /proc shows of it. Pure, so every
 * case (a start caught mid-exec included) is unit-tested on recorded observations.
 */

/** A process as /proc/<pid>/stat and /proc/<pid>/cmdline show it. */
export interface ProcessView {
  /** stat field 3: R, S, D, Z, X, … */
  state: string;
  /** stat field 22: when the process started, in clock ticks since boot; exec keeps it, a new process with the same pid has another */
  startTime: number;
  /** cmdline split at NUL; empty while the kernel is in the middle of an exec (and for a zombie) */
  argv: string[];
}

/** What the lab recorded when it started the daemon. */
export interface DaemonRecord {
  /** the host's command, what the daemon runs once started */
  command: readonly string[];
  /** the nsenter argv that puts the command into the host's namespace and execs it */
  launcher: readonly string[];
  /** start time of the pid at spawn; absent in state files written before it was recorded */
  startTime?: number;
  /** argv of the process that spawned the daemon: a forked child shows it until it execs */
  spawner?: readonly string[];
}

/**
 * `starting`: the process we spawned, not yet running the command (still the spawner's fork, the
 * launcher, or mid-exec). `exited`: gone, a zombie, another process that got the pid, or ours
 * having exec'd something that is neither the launcher nor the command.
 */
export type DaemonStatus = 'running' | 'starting' | 'exited';

export function daemonStatus(view: ProcessView | undefined, record: DaemonRecord): DaemonStatus {
  if (view === undefined || view.state === 'Z' || view.state === 'X') return 'exited';
  const sameProcess = record.startTime !== undefined && view.startTime === record.startTime;
  if (record.startTime !== undefined && !sameProcess) return 'exited';
  if (sameArgv(view.argv, record.command)) return 'running';
  if (sameArgv(view.argv, record.launcher)) return 'starting';
  // Only the start time proves an empty argv or the spawner's is our child between fork and exec;
  // a state file without it falls back to the argv alone.
  if (sameProcess && (view.argv.length === 0 || (record.spawner !== undefined && sameArgv(view.argv, record.spawner)))) {
    return 'starting';
  }
  return 'exited';
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold spaces
 * and parentheses, so the fields are counted from the last ')'.
 */
export function parseStat(text: string): { state: string; startTime: number } {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 (starttime) is rest[19].
  const state = rest[0] ?? '';
  const startTime = Number(rest[19]);
  if (state === '' || !Number.isSafeInteger(startTime)) throw new Error(`unreadable /proc stat line: ${text.slice(0, 200)}`);
  return { state, startTime };
}

/** /proc/<pid>/cmdline: NUL-terminated arguments. */
export function parseCmdline(text: string): string[] {
  return text === '' ? [] : text.replace(/\0$/, '').split('\0');
}

function sameArgv(argv: readonly string[], expected: readonly string[]): boolean {
  return argv.length === expected.length && argv.every((arg, i) => arg === expected[i]);
}
