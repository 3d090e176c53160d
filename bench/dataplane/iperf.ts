import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processRunner } from '../../agent/kernel';
import { execIn } from '../netns/hosts';
import type { Teardown } from '../netns/teardown';
import { logTail, startProcess, stopProcess, waitFor } from '../raft/processes';

const PORT = 5201;

/** One end of a measured path: a namespace and the address its iperf3 server listens on. */
export interface Endpoint {
  netns: string;
  address: string;
}

/** An iperf3 server in `at`, stopped by its PID on teardown (`ip netns exec` execs iperf3 in place). */
export async function startIperfServer(at: Endpoint, logDir: string, teardown: Teardown): Promise<void> {
  const logFile = join(logDir, `iperf3-${at.netns}.log`);
  const server = startProcess(`iperf3 in ${at.netns}`, 'ip', ['netns', 'exec', at.netns, 'iperf3', '--server', '--forceflush', '--bind', at.address, '--port', `${PORT}`], logFile);
  teardown.add(`stopping ${server.name} (pid ${server.child.pid})`, () => stopProcess(server));
  await waitFor(`${server.name} to listen`, async () => {
    if (server.child.exitCode !== null) throw new Error(`iperf3 exited: ${logTail(server)}`);
    return readFileSync(logFile, 'utf8').includes('Server listening') ? true : undefined;
  }, 10_000);
}

/** TCP throughput of one `seconds`-long iperf3 run from `from` to the server at `to`, in Gbit/s as received. */
export async function tcpGbps(from: string, to: Endpoint, seconds: number): Promise<number> {
  const output = await execIn(from, ['iperf3', '--client', to.address, '--port', `${PORT}`, '--time', `${seconds}`, '--json']);
  const report = JSON.parse(output) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  const bitsPerSecond = report.end?.sum_received?.bits_per_second;
  if (report.error !== undefined || bitsPerSecond === undefined) throw new Error(`iperf3 ${from} → ${to.address}: ${report.error ?? 'no result'}`);
  return bitsPerSecond / 1e9;
}

/** A few pings until one is answered: a path that does not carry ping will not carry iperf3 either. */
export async function assertReachable(from: string, to: Endpoint): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await execIn(from, ['ping', '-c', '1', '-W', '1', to.address]);
      return;
    } catch {
      // the first packet may meet a port still settling
    }
  }
  throw new Error(`no ping reply from ${to.address} in ${to.netns} (from ${from})`);
}

export async function iperfVersion(): Promise<string | undefined> {
  try {
    return /iperf ([\d.]+)/.exec(await processRunner.run(['iperf3', '--version']))?.[1];
  } catch {
    return undefined;
  }
}
