import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../cli/output';
import { findRepoRoot } from '../e2e/lab/context';
import { round } from './stats';
import { EtcdCluster, etcdVersion } from './raft/etcd-cluster';
import { runLoad, type LoadOptions, type LoadResult } from './raft/load';
import { stopProcess, type Started } from './raft/processes';
import { TrellisCluster } from './raft/trellis-cluster';
import { meanProposalBytes, prepareTrellis, trellisWrites } from './raft/trellis-workload';

const manyClients = 64;

interface Settings {
  warmupMs: number;
  measureMs: number;
  /** Extra node flags for the managers, e.g. --cpu-prof --cpu-prof-dir DIR. */
  managerNodeArgs: string[];
  keep: boolean;
}

function parseArgs(args: string[]): Settings {
  const settings: Settings = { warmupMs: 3000, measureMs: 10_000, managerNodeArgs: [], keep: false };
  for (let i = 0; i < args.length; i++) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === '--seconds' && value) (settings.measureMs = Number(value) * 1000), i++;
    else if (flag === '--warmup' && value) (settings.warmupMs = Number(value) * 1000), i++;
    else if (flag === '--cpu-prof' && value) (settings.managerNodeArgs = ['--cpu-prof', '--cpu-prof-dir', value]), i++;
    else if (flag === '--keep') settings.keep = true;
    else throw new Error(`raft bench: unknown argument "${flag}"; use --seconds N, --warmup N, --cpu-prof DIR, --keep`);
  }
  if (!(settings.measureMs > 0) || !(settings.warmupMs >= 0)) throw new Error('raft bench: --seconds and --warmup take positive numbers');
  return settings;
}

interface Measured {
  trellis1: LoadResult;
  trellisMany: LoadResult;
  trellisFollower: LoadResult;
  etcd1?: LoadResult;
  etcdMany?: LoadResult;
}

async function measureTrellis(repoRoot: string, dir: string, settings: Settings, started: Started[]): Promise<Pick<Measured, 'trellis1' | 'trellisMany' | 'trellisFollower'>> {
  const cluster = await TrellisCluster.start(repoRoot, join(dir, 'trellis'), started, settings.managerNodeArgs);
  try {
    const { leader, follower } = await cluster.roles();
    await prepareTrellis(cluster, leader);
    const load = (clients: number): LoadOptions => ({ clients, warmupMs: settings.warmupMs, measureMs: settings.measureMs });
    const trellis1 = await runLoad(await trellisWrites(cluster, leader, 'r1', 1), load(1));
    const trellisMany = await runLoad(await trellisWrites(cluster, leader, 'r2', manyClients), load(manyClients));
    const trellisFollower = await runLoad(await trellisWrites(cluster, follower, 'r3', manyClients), load(manyClients));
    const after = await cluster.roles();
    if (after.leader !== leader) process.stderr.write(`raft bench: warning: Trellis leadership moved during the run (${leader} → ${after.leader})\n`);
    return { trellis1, trellisMany, trellisFollower };
  } finally {
    await cluster.stop();
  }
}

async function measureEtcd(dir: string, settings: Settings, started: Started[]): Promise<Pick<Measured, 'etcd1' | 'etcdMany'>> {
  const cluster = await EtcdCluster.start(join(dir, 'etcd'), started);
  try {
    const leader = (await cluster.leader()) ?? '';
    const load = (clients: number): LoadOptions => ({ clients, warmupMs: settings.warmupMs, measureMs: settings.measureMs });
    const etcd1 = await runLoad(cluster.writes(leader, 'r1'), load(1));
    const etcdMany = await runLoad(cluster.writes(leader, 'r2'), load(manyClients));
    return { etcd1, etcdMany };
  } finally {
    await cluster.stop();
  }
}

function row(name: string, result: LoadResult | undefined): string[] {
  if (!result) return [name, '-', '-', '-', 'not run'];
  const errors = result.errors ? `${result.errors} (${result.firstError ?? ''})` : '0';
  return [name, String(result.commitsPerS), result.p50Ms.toFixed(2), result.p99Ms.toFixed(2), errors];
}

function figures(result: LoadResult | undefined): Record<string, number | null> {
  return { commits_per_s: result?.commitsPerS ?? null, p50_ms: result?.p50Ms ?? null, p99_ms: result?.p99Ms ?? null, errors: result?.errors ?? null };
}

function ratio(ours: LoadResult, theirs: LoadResult | undefined): number | null {
  return theirs && theirs.commitsPerS > 0 ? round(ours.commitsPerS / theirs.commitsPerS, 2) : null;
}

function report(measured: Measured, settings: Settings, etcd: string | undefined, proposalBytes: number): void {
  const { trellis1, trellisMany, trellisFollower, etcd1, etcdMany } = measured;
  const ratioMany = ratio(trellisMany, etcdMany);
  const ratioOne = ratio(trellis1, etcd1);
  const lines = [
    table(
      ['run (3 members, loopback, fsync on)', 'commits/s', 'p50 ms', 'p99 ms', 'errors'],
      [
        row('Trellis, 1 client', trellis1),
        row(`etcd ${etcd ?? '(missing)'}, 1 client`, etcd1),
        row(`Trellis, ${manyClients} clients`, trellisMany),
        row(`etcd, ${manyClients} clients`, etcdMany),
        row(`Trellis, ${manyClients} clients via a follower`, trellisFollower),
      ],
    ),
    '',
    `Trellis / etcd commits/s: ${ratioOne ?? '-'} at 1 client, ${ratioMany ?? '-'} at ${manyClients} clients`,
    `goals: ≥ 5000 commits/s at ${manyClients} clients (${trellisMany.commitsPerS}), ≥ 0.5 × etcd (${ratioMany ?? '-'}), single-client p50 ≤ 2 ms (${trellis1.p50Ms})`,
    `Trellis writes: ConnectNetwork/DisconnectNetwork alternating, mean proposal ${Math.round(proposalBytes)} bytes; etcd: put of a 256-byte value; ${settings.measureMs / 1000} s measured after ${settings.warmupMs / 1000} s warm-up`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const json = {
    bench: 'raft',
    commits_per_s: trellisMany.commitsPerS,
    p50_ms: trellisMany.p50Ms,
    p99_ms: trellisMany.p99Ms,
    etcd_commits_per_s: etcdMany?.commitsPerS ?? null,
    ratio_vs_etcd: ratioMany,
    etcd_p50_ms: etcdMany?.p50Ms ?? null,
    etcd_p99_ms: etcdMany?.p99Ms ?? null,
    single_client_commits_per_s: trellis1.commitsPerS,
    single_client_p50_ms: trellis1.p50Ms,
    single_client_p99_ms: trellis1.p99Ms,
    etcd_single_client_commits_per_s: etcd1?.commitsPerS ?? null,
    etcd_single_client_p50_ms: etcd1?.p50Ms ?? null,
    etcd_single_client_p99_ms: etcd1?.p99Ms ?? null,
    single_client_ratio_vs_etcd: ratioOne,
    follower_commits_per_s: trellisFollower.commitsPerS,
    follower_p50_ms: trellisFollower.p50Ms,
    follower_p99_ms: trellisFollower.p99Ms,
    clients: manyClients,
    proposal_bytes: Math.round(proposalBytes),
    measure_s: settings.measureMs / 1000,
    warmup_s: settings.warmupMs / 1000,
    etcd_version: etcd ?? null,
    trellis: { '1': figures(trellis1), [manyClients]: figures(trellisMany), [`${manyClients}_via_follower`]: figures(trellisFollower) },
    etcd: { '1': figures(etcd1), [manyClients]: figures(etcdMany) },
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}

/**
 * Raft commit throughput and latency of 3 Trellis managers against 3 etcd
 * members, both on loopback with fsync on, in the same run, one system at a time.
 */
export async function run(args: string[]): Promise<void> {
  const settings = parseArgs(args);
  const repoRoot = findRepoRoot(__dirname);
  mkdirSync(join(repoRoot, '.bench'), { recursive: true });
  // On the repo's disk, not a tmpfs: the fsyncs must be real.
  const dir = mkdtempSync(join(repoRoot, '.bench', 'raft-'));
  const started: Started[] = [];
  const stopAll = () => Promise.all(started.map((process_) => stopProcess(process_)));
  const removeDir = () => (settings.keep ? process.stderr.write(`raft bench: kept ${dir}\n`) : rmSync(dir, { recursive: true, force: true }));
  const onSignal = () =>
    void stopAll()
      .then(removeDir)
      .finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const etcd = etcdVersion();
  if (etcd === undefined) {
    process.stderr.write('raft bench: `etcd` is not installed, so there is no baseline; install it with `apt-get install -y etcd-server etcd-client` (scripts/setup.sh does).\n');
  }
  try {
    const trellis = await measureTrellis(repoRoot, dir, settings, started);
    const etcdResults = etcd === undefined ? {} : await measureEtcd(dir, settings, started);
    report({ ...trellis, ...etcdResults }, settings, etcd, meanProposalBytes());
    if (etcd === undefined) process.exitCode = 1;
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    removeDir();
  }
}
