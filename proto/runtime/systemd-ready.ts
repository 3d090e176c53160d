import { spawn } from 'node:child_process';

/** Runs `systemd-notify` with these arguments; resolves when it has exited successfully. */
export type NotifyRunner = (args: string[], env: NodeJS.ProcessEnv) => Promise<void>;

const runSystemdNotify: NotifyRunner = (args, env) =>
  new Promise((resolve, reject) => {
    const child = spawn('systemd-notify', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`systemd-notify exited with ${code}: ${stderr.trim()}`))));
  });

/**
 * Tells systemd that this daemon is ready (the units are Type=notify), and only when a unit asks
 * for it: NOTIFY_SOCKET set. Node has no AF_UNIX datagram sockets, so `systemd-notify` sends the
 * message; it is a child of the daemon, hence NotifyAccess=all in the units. Without --no-block it
 * waits until systemd has read the message, so the message is not lost when it exits first.
 */
export async function notifyReady(status: string, env: NodeJS.ProcessEnv = process.env, run: NotifyRunner = runSystemdNotify): Promise<boolean> {
  if (!env.NOTIFY_SOCKET) return false;
  await run(['--ready', `--status=${status}`], env);
  return true;
}
