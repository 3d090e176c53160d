/**
 * isRunning on real processes, one of them held between fork and exec for as long as the test
 * wants: a shell forks a subshell (a copy of the shell, its argv included) that waits on a FIFO
 * before it execs the host's command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inheritedEnvironment, isRunning, startDaemon, viewProcess } from './processes';
import type { HostState } from './state';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trlab-processes-'));
const command = ['sleep', 'infinity'];
const started: ChildProcess[] = [];
/** Processes of ours that are not our children, with their start times: killed only while the pid is still theirs. */
const forks: Array<{ pid: number; startTime?: number }> = [];

afterAll(() => {
  for (const fork of forks) if (viewProcess(fork.pid)?.startTime === fork.startTime) kill(fork.pid);
  for (const child of started) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) kill(child.pid);
  fs.rmSync(dir, { recursive: true, force: true });
});

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function host(fields: Partial<HostState>): HostState {
  return { name: 'a1', role: 'agent', namespace: 'trlab-processes-none', address: '198.18.0.11', pid: null, log: path.join(dir, 'a1.log'), command, ...fields };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(50);
  if (!check()) throw new Error(`gave up waiting for ${what}`);
}

/** A forked child that has not exec'd yet; writing to `release` lets it exec `then`. */
async function heldFork(then: readonly string[]): Promise<{ shellPid: number; pid: number; release: () => void }> {
  const fifo = path.join(dir, `fifo-${started.length}`);
  spawnSync('mkfifo', [fifo]);
  const shell = spawn('sh', ['-c', '( read go < "$0"; exec "$@" ) & echo $!; wait', fifo, ...then], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(shell);
  const pid = await new Promise<number>((resolve) => shell.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  forks.push({ pid, startTime: viewProcess(pid)?.startTime });
  return { shellPid: shell.pid ?? 0, pid, release: () => fs.writeFileSync(fifo, 'go\n') };
}

describe('isRunning', () => {
  it('counts a daemon still between fork and exec as running, then the command it execs', async () => {
    const fork = await heldFork(command);
    const spawner = viewProcess(fork.shellPid)?.argv;
    expect(viewProcess(fork.pid)?.argv).toEqual(spawner); // the fork still shows its parent's argv
    const daemon = host({ pid: fork.pid, startTime: viewProcess(fork.pid)?.startTime, spawner });
    expect(isRunning(daemon)).toBe(true);

    fork.release();
    await until('the fork to exec the command', () => viewProcess(fork.pid)?.argv.join(' ') === command.join(' '));
    expect(isRunning(daemon)).toBe(true);

    process.kill(fork.pid, 'SIGKILL');
    await until('the daemon to die (a zombie until the shell reaps it, then gone)', () => [undefined, 'Z'].includes(viewProcess(fork.pid)?.state));
    expect(isRunning(daemon)).toBe(false);
  });

  it('counts a daemon that exec\'d something other than its command as exited', async () => {
    const fork = await heldFork(['sleep', '1000']);
    const daemon = host({ pid: fork.pid, startTime: viewProcess(fork.pid)?.startTime, spawner: viewProcess(fork.shellPid)?.argv });
    fork.release();
    await until('the fork to exec', () => viewProcess(fork.pid)?.argv[0] === 'sleep');
    expect(isRunning(daemon)).toBe(false);
  });

  it('does not take a process that got the pid later for ours', async () => {
    const fork = await heldFork(command);
    fork.release();
    await until('the fork to exec the command', () => viewProcess(fork.pid)?.argv[0] === 'sleep');
    const startTime = viewProcess(fork.pid)?.startTime ?? 0;
    expect(isRunning(host({ pid: fork.pid, startTime }))).toBe(true);
    expect(isRunning(host({ pid: fork.pid, startTime: startTime - 1 }))).toBe(false);
  });

  it('records at start what recognises the daemon: its start time and the lab process that spawned it', async () => {
    // Without a namespace to enter the launcher fails at once; the record is made before that shows.
    const daemon = host({});
    const record = startDaemon(daemon);
    forks.push(record);
    expect(record.startTime).toEqual(expect.any(Number));
    expect(record.spawner).toEqual(viewProcess(process.pid)?.argv);
    await until('the failed launcher to exit', () => !isRunning({ ...daemon, ...record }));
    expect(fs.readFileSync(daemon.log, 'utf8')).toContain('starting: sleep infinity');
  });
});

describe("a daemon's environment", () => {
  it("leaves out the TRELLIS_* variables of the settings its config file sets, so that the file is what it runs on, and keeps the others", () => {
    const caller = { PATH: '/usr/bin', TRELLIS_MANAGER: '127.0.0.1:4240', TRELLIS_STATE_DIR: '/var/lib/trellis/agent', TRELLIS_LOG_LEVEL: 'debug' };
    const config = { file: '/lab/a1/agent.yaml', template: '/repo/deploy/config/agent.yaml', settings: [['manager', '198.18.0.1:4240'], ['state-dir', '/lab/a1/data']] as const };
    expect(inheritedEnvironment({ config: { ...config, settings: [...config.settings] } }, caller)).toEqual({ PATH: '/usr/bin', TRELLIS_LOG_LEVEL: 'debug' });
    // Flags beat the environment: a lab from the build passes it all on.
    expect(inheritedEnvironment({}, caller)).toEqual(caller);
  });
});
