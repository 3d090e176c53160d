import { release } from 'node:os';
import { table } from '../cli/output';
import { iperfVersion } from './dataplane/iperf';
import { numberFlags } from './flags';
import { connectMs, createPair, gbps, programServices, type Pair } from './lb/connect';
import { measureUpdate, type UpdateFigures } from './lb/update';
import { withPrivateNetnsDir } from './netns/private-netns-dir';
import { withTeardown, type Teardown } from './netns/teardown';
import { percentile, round } from './stats';

interface Options {
  sandboxes: number;
  backends: number;
  rounds: number;
  services: number;
  connects: number;
  seconds: number;
  runs: number;
}

interface PathFigures {
  connectFew: number[];
  connectMany: number[];
  connectDirect: number[];
  vipGbps: number[];
  directGbps: number[];
}

/**
 * The nftables balancer: (1) one backend change on a node whose `sandboxes` namespaces all balance
 * a service of `backends` backends, applied as the planned update and as a rebuild of every table,
 * beside the floor of an empty script in every namespace (and of the nsenter+nft processes the
 * balancer once spawned); (2) TCP connect time through a VIP with 10 and
 * with `services` services programmed, and straight to the backend; (3) one iperf3 stream through
 * a VIP and straight to the backend. (2) and (3) interleave their runs; medians are reported, and for (3) the median of each run's VIP ÷ direct.
 */
export async function run(args: string[]): Promise<void> {
  const options: Options = numberFlags('lb', args, { sandboxes: 50, backends: 1000, rounds: 6, services: 5000, connects: 400, seconds: 3, runs: 5 });
  if (Object.values(options).some((value) => !Number.isInteger(value) || value < 1)) throw new Error('lb bench: every flag takes a whole number ≥ 1');
  const iperf = await iperfVersion();
  if (iperf === undefined) throw new Error('lb bench: iperf3 is not installed (apt-get install iperf3; scripts/setup.sh does)');
  await withPrivateNetnsDir(() => withTeardown((teardown) => measure(options, iperf, teardown)));
}

async function measure(options: Options, iperf: string, teardown: Teardown): Promise<void> {
  const tag = `lb${process.pid}`;
  const update = await measureUpdate(tag, options.sandboxes, options.backends, options.rounds, teardown, progress);
  const pair = await createPair(tag, teardown);
  const paths: PathFigures = { connectFew: [], connectMany: [], connectDirect: [], vipGbps: [], directGbps: [] };
  for (let pass = 1; pass <= options.runs; pass += 1) {
    progress(`run ${pass}/${options.runs}: 10 services`);
    const few = await programServices(pair, 10);
    paths.connectFew.push(await connectMs(pair, few, options.connects));
    paths.connectDirect.push(await connectMs(pair, pair.backend.address, options.connects));
    progress(`run ${pass}/${options.runs}: ${options.services} services`);
    const many = await programServices(pair, options.services);
    paths.connectMany.push(await connectMs(pair, many, options.connects));
    // Back to back, in alternating order: the pair meets the same neighbours, and neither always goes first.
    if (pass % 2 === 1) paths.vipGbps.push(await gbps(pair, many, options.seconds));
    paths.directGbps.push(await gbps(pair, pair.backend.address, options.seconds));
    if (pass % 2 === 0) paths.vipGbps.push(await gbps(pair, many, options.seconds));
  }
  report(options, iperf, update, pair, paths);
}

function progress(what: string): void {
  process.stderr.write(`lb: ${what}\n`);
}

const median = (sample: number[]): number => percentile(sample, 50);
const ms = (value: number): string => round(value, 1).toFixed(1);

function report(options: Options, iperf: string, update: UpdateFigures, pair: Pair, paths: PathFigures): void {
  const [few, many, direct, vip, straight] = [paths.connectFew, paths.connectMany, paths.connectDirect, paths.vipGbps, paths.directGbps].map(median) as [number, number, number, number, number];
  const kb = (bytes: number): string => `${round(bytes / 1024, 1)} KiB`;
  // Each run's pair measured back to back: the median of their ratios, robust to a noisy neighbour that the medians of each path are not.
  const vipVsDirect = median(paths.vipGbps.map((value, index) => value / (paths.directGbps[index] ?? NaN)));
  const manyVsFew = median(paths.connectMany.map((value, index) => value / (paths.connectFew[index] ?? NaN)));
  const rows = [
    [`program ${update.sandboxes} sandboxes × ${update.backends} backends (cold)`, `${ms(update.programMs)} ms`, ''],
    [`observe: list the table as JSON in ${update.sandboxes} sandboxes`, `${ms(update.observeMs)} ms`, 'a full pass reads this'],
    ['plan (pure)', `${ms(update.planMs)} ms`, ''],
    ['update: one backend change applied', `${ms(update.updateMs)} ms`, `${update.updateProcesses} processes, in-process setns+libnftables (+ctnetlink), ${kb(update.updateBytes)} of nft input`],
    ['rebuild: the same change, every table rewritten', `${ms(update.rebuildMs)} ms`, `${update.rebuildProcesses} processes, ${kb(update.rebuildBytes)} of nft input`],
    [`floor: an empty nft script in ${update.sandboxes} sandboxes, in-process`, `${ms(update.floorMs)} ms`, 'setns and libnftables alone'],
    [`floor: ${update.sandboxes} nsenter+nft processes, empty transaction`, `${ms(update.spawnFloorMs)} ms`, 'what spawning alone costs (the balancer before)'],
    ['TCP connect via VIP, 10 services', `${round(few, 3)} ms`, ''],
    [`TCP connect via VIP, ${options.services} services`, `${round(many, 3)} ms`, `÷ 10 services, median of the runs' ratios: ${round(manyVsFew, 3)}`],
    ['floor: TCP connect straight to the backend', `${round(direct, 3)} ms`, ''],
    [`iperf3 via VIP (${options.services} services)`, `${round(vip, 2)} Gbit/s`, `runs ${paths.vipGbps.map((value) => round(value, 2)).join(' ')}`],
    ['iperf3 straight to the backend', `${round(straight, 2)} Gbit/s`, `runs ${paths.directGbps.map((value) => round(value, 2)).join(' ')}; VIP ÷ direct, median of the runs' ratios: ${round(vipVsDirect, 3)}`],
  ];
  process.stdout.write(
    `nftables balancer; kernel ${release()}; ${options.rounds} update rounds, ${options.runs} interleaved path runs (${options.connects} connects, ${options.seconds} s iperf3 ${iperf} each), medians; client ${pair.client.netns} → backend ${pair.backend.address} over a veth\n` +
      table(['what', 'time', 'note'], rows) +
      '\n',
  );
  const figures = {
    bench: 'lb',
    kernel: release(),
    sandboxes: update.sandboxes,
    backends: update.backends,
    update_ms: round(update.updateMs, 1),
    update_processes: update.updateProcesses,
    rebuild_ms: round(update.rebuildMs, 1),
    spawn_floor_ms: round(update.spawnFloorMs, 1),
    native_floor_ms: round(update.floorMs, 1),
    observe_ms: round(update.observeMs, 1),
    plan_ms: round(update.planMs, 2),
    program_ms: round(update.programMs, 1),
    services: options.services,
    connect_ms_10: round(few, 3),
    connect_ms_many: round(many, 3),
    connect_ms_direct: round(direct, 3),
    connect_latency_ratio_5000_vs_10: round(manyVsFew, 3),
    vip_gbps: round(vip, 2),
    direct_gbps: round(straight, 2),
    ratio_vip_vs_direct: round(vipVsDirect, 3),
  };
  process.stdout.write(JSON.stringify(figures) + '\n');
}
