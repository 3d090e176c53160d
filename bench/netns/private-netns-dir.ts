import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { constants } from 'node:os';
import { NETNS_RUN_DIR, processRunner } from '../../agent/kernel';

const MARK = 'TRELLIS_BENCH_PRIVATE_NETNS';

/**
 * Runs `body` with a /run/netns of its own: the first call re-executes this process under
 * `unshare --mount` and mounts an empty tmpfs on /run/netns there, so every namespace the bench
 * names (its hosts, and the trsb- sandboxes the agent code creates) is invisible to anyone else on
 * the machine — an agent or lab on this machine never reads or counts them, and the bench never
 * sees theirs — and the names go with the process even if it is killed.
 */
export async function withPrivateNetnsDir(body: () => Promise<void>): Promise<void> {
  if (process.env[MARK] === '1') {
    mkdirSync(NETNS_RUN_DIR, { recursive: true });
    await processRunner.run(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=4m', 'trbn-netns', NETNS_RUN_DIR]);
    await body();
    return;
  }
  process.exitCode = await rerunUnshared();
}

function rerunUnshared(): Promise<number> {
  const argv = ['--mount', '--propagation', 'private', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawn('unshare', argv, { stdio: 'inherit', env: { ...process.env, [MARK]: '1' } });
  // Ctrl-C reaches the child through the terminal's process group; a SIGTERM sent to this PID is passed on.
  const forward = (signal: NodeJS.Signals) => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, signal);
  const onInt = () => undefined;
  const onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`bench: cannot run unshare: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}
