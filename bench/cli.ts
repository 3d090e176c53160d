import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { table } from '../cli/output';
import { joinedNodeCredentials } from '../manager/cluster-clients';
import { ManagerProcess } from '../e2e/support/manager-process';
import { buildRelease } from '../packaging/release';
import { findRepoRoot } from '../e2e/lab/context';
import { registerNodes } from './fanout/topology';
import { inPool } from './fanout/pool';
import { numberFlags } from './flags';
import { percentile, round } from './stats';

const goals = { networkLsMs: 150, parallelConnectMs: 3000 };

/** One process run to its end: wall milliseconds; throws with its output if it failed. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = performance.now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr}`))));
  });
}

async function sequential(times: number, run: () => Promise<number>): Promise<number[]> {
  const sample: number[] = [];
  for (let i = 0; i < times; i++) sample.push(await run());
  return sample;
}

/**
 * What a user waits for at the command line: `trellis network ls` against a live
 * one-manager cluster on loopback (30 calls one after the other), beside the floor
 * of any Node program (`node -e 0`) measured in the same run, and 30 `network connect`
 * calls started at once, as a script attaching 30 containers would, beside 30 `node -e 0` at once.
 * The CLI measured is
 * the release artifact, built first (`npm run release`: dist/release/trellis), with its code
 * cache in the bench's own directory (written by the first call); the checkout's bin/trellis
 * (dist/, no bundle) is measured beside it.
 */
export async function run(args: string[]): Promise<void> {
  const options = numberFlags('cli', args, { calls: 30, parallel: 30 });
  const repoRoot = findRepoRoot(__dirname);
  const { artifact } = await buildRelease(repoRoot);
  const checkout = join(repoRoot, 'bin', 'trellis');
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-cli-'));
  const manager = await ManagerProcess.start(dir);
  try {
    const env = { ...process.env, TRELLIS_MANAGER: manager.address, TRELLIS_TLS_DIR: manager.adminDir, XDG_CACHE_HOME: join(dir, 'cache') };
    const trellis = (...cliArgs: string[]) => timed(artifact, cliArgs, env);
    await trellis('network', 'create', '--subnet', '10.232.0.0/16', 'bench-cli');

    // Sandboxes need a node: one registered through the Dispatcher, as an agent registers (no kernel needed).
    const credentials = await joinedNodeCredentials(manager.address, manager.adminDir, 'worker');
    await registerNodes(manager.address, credentials, { nodes: 1, perNode: 0, regional: 0, networksPerNode: 0 });
    await inPool(options.parallel, 8, async (i) => void (await trellis('sandbox', 'create', `bench-sb-${i}`, '--node', 'n0000')));

    const floor = await sequential(options.calls, () => timed(process.execPath, ['-e', '0'], env));
    const ls = await sequential(options.calls, () => trellis('network', 'ls'));
    const checkoutLs = await sequential(options.calls, () => timed(checkout, ['network', 'ls'], env));
    const atOnce = async (run: (i: number) => Promise<number>): Promise<number> => {
      const start = performance.now();
      await Promise.all(Array.from({ length: options.parallel }, (_, i) => run(i)));
      return performance.now() - start;
    };
    // The floor of as many processes at once on this machine's cores, in the same run.
    const parallelFloorMs = await atOnce(() => timed(process.execPath, ['-e', '0'], env));
    const parallelMs = await atOnce((i) => trellis('network', 'connect', 'bench-cli', `bench-sb-${i}`));

    const figures = {
      bench: 'cli',
      calls: options.calls,
      network_ls_ms: round(percentile(ls, 50)),
      network_ls_p90_ms: round(percentile(ls, 90)),
      node_floor_ms: round(percentile(floor, 50)),
      node_floor_p90_ms: round(percentile(floor, 90)),
      [`parallel_connect_${options.parallel}_ms`]: round(parallelMs),
      [`parallel_node_floor_${options.parallel}_ms`]: round(parallelFloorMs),
      checkout_network_ls_ms: round(percentile(checkoutLs, 50)),
      checkout_network_ls_p90_ms: round(percentile(checkoutLs, 90)),
      goal_network_ls_ms: goals.networkLsMs,
      goal_parallel_connect_ms: goals.parallelConnectMs,
    };
    process.stdout.write(
      table(
        ['what', 'median ms', 'p90 ms', 'goal'],
        [
          [`trellis network ls (release artifact), ${options.calls} calls`, String(figures.network_ls_ms), String(figures.network_ls_p90_ms), `≤ ${goals.networkLsMs} ms median`],
          [`node -e 0 (the floor), ${options.calls} calls`, String(figures.node_floor_ms), String(figures.node_floor_p90_ms), ''],
          [`${options.parallel} × trellis network connect at once`, String(round(parallelMs)), '', `≤ ${goals.parallelConnectMs} ms`],
          [`${options.parallel} × node -e 0 at once (the floor)`, String(round(parallelFloorMs)), '', ''],
          [`bin/trellis network ls (checkout, dist/), ${options.calls} calls`, String(figures.checkout_network_ls_ms), String(figures.checkout_network_ls_p90_ms), ''],
        ],
      ) + '\n',
    );
    process.stdout.write(JSON.stringify(figures) + '\n');
  } finally {
    await manager.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
