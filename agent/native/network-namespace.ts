import { nativeCalls, type NativeCalls } from './libraries';

const CLONE_NEWNET = 0x40000000;
const O_RDONLY_CLOEXEC = 0o2000000;

let home: number | undefined;

/**
 * Runs `work` with this thread in the network namespace at `path` (/run/netns/NAME or
 * /proc/PID/ns/net) and returns to the agent's own namespace before returning, also when `work`
 * throws. `work` must be synchronous: only then can nothing else on this thread (another
 * callback, a socket the event loop opens) run while the thread is elsewhere. What it creates
 * there (sockets, netlink handles) stays in that namespace for good.
 */
export function inNetworkNamespace<T>(path: string, work: (calls: NativeCalls) => T): T {
  const calls = nativeCalls();
  home ??= openNamespace(calls, '/proc/thread-self/ns/net');
  const target = openNamespace(calls, path);
  try {
    if (calls.setns(target, CLONE_NEWNET) !== 0) throw new Error(`cannot enter the network namespace ${path}: errno ${calls.errno()}`);
    try {
      return work(calls);
    } finally {
      // Failing to come back would leave the whole agent in a sandbox: nothing after it is safe.
      if (calls.setns(home, CLONE_NEWNET) !== 0) {
        process.stderr.write(`fatal: cannot return to the agent's network namespace: errno ${calls.errno()}\n`);
        process.exit(70);
      }
    }
  } finally {
    calls.close(target);
  }
}

function openNamespace(calls: NativeCalls, path: string): number {
  const fd = calls.open(path, O_RDONLY_CLOEXEC);
  if (fd < 0) throw new Error(`cannot open the network namespace ${path}: errno ${calls.errno()}`);
  return fd;
}
