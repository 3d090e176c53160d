/**
 * The lab's state file, `<labDir>/state.json`: what `up` created and started, so that every
 * later command (and `down` after a crash mid-`up`) knows exactly what is ours.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostConfig, HostRole, LabPlan } from './plan';

export interface HostState {
  name: string;
  role: HostRole;
  namespace: string;
  address: string;
  /** pid of the daemon we started; null when it is not running (never started, stopped, killed) */
  pid: number | null;
  log: string;
  /** argv of the daemon, as /proc/<pid>/cmdline shows it: how we recognise our process and restart it */
  command: string[];
  /**
   * start time of pid (/proc/<pid>/stat field 22) and argv of the lab process that spawned it,
   * recorded at start: with them a daemon caught mid-exec is not taken for dead. Absent in state
   * files of older labs, which are then recognised by argv alone.
   */
  startTime?: number;
  spawner?: string[];
  /** The config file the daemon reads (a lab from a release artifact); absent: every setting is a flag. */
  config?: HostConfig;
}

/** The release artifact a lab runs: the mode `up --from-release` records, kept by every restart. */
export interface LabRelease {
  /** the path `up` was given */
  source: string;
  sha256: string;
  /** the lab's copy, which its daemons and its CLI run */
  artifact: string;
}

export interface LabState {
  hosts: HostState[];
  manager: string;
  labDir: string;
  /** Absent: the daemons and the CLI run from the build in dist/. */
  release?: LabRelease;
}

export function stateFromPlan(plan: LabPlan, release?: LabRelease): LabState {
  return {
    hosts: plan.hosts.map(({ name, role, namespace, address, log, command, config }) => ({
      name,
      role,
      namespace,
      address,
      pid: null,
      log,
      command,
      ...(config ? { config } : {}),
    })),
    manager: plan.manager,
    labDir: plan.labDir,
    ...(release ? { release } : {}),
  };
}

export function statePath(labDir: string): string {
  return path.join(labDir, 'state.json');
}

export function readState(labDir: string): LabState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(statePath(labDir), 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return JSON.parse(text) as LabState;
}

/** Written by rename so a crash never leaves half a file behind. */
export function writeState(state: LabState): void {
  fs.mkdirSync(state.labDir, { recursive: true });
  const target = statePath(state.labDir);
  const temporary = `${target}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(temporary, target);
}

export function removeState(labDir: string): void {
  fs.rmSync(statePath(labDir), { force: true });
}

export function findHost(state: LabState, name: string): HostState {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) {
    throw new Error(`no host "${name}" in this lab; hosts: ${state.hosts.map((h) => h.name).join(', ')}`);
  }
  return host;
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT';
}
