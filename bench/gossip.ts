import { join } from 'node:path';
import { table } from '../cli/output';
import { numberFlags } from './flags';
import { QUIET_MS, runLeader, type LeaderRun } from './gossip/leader';
import { runLab } from './gossip/lab';
import { runMesh, type MeshResult } from './gossip/mesh';
import { percentile, round } from './stats';

const MESH_AGENTS = 50;
const ROUND_TRIPS = 50;
const GOALS = { p99_ms_50_agents: 500, leader_bytes_ratio: 0.1 };

function progress(line: string): void {
  process.stderr.write(`gossip: ${line}\n`);
}

function meshTable(result: MeshResult): string {
  const all = result.changes.map((change) => change.allMs);
  const bytes = result.changes.map((change) => change.bytes);
  const missed = result.changes.filter((change) => change.allMs === Infinity).length;
  const rows = [
    [
      String(result.agents),
      String(Math.round(result.linkedMs)),
      String(Math.round(result.tablesMs)),
      String(result.changes.length),
      `${round(percentile(result.deliveries, 50))} / ${round(percentile(result.deliveries, 99))} / ${round(Math.max(...result.deliveries))}`,
      `${round(percentile(all, 50))} / ${round(Math.max(...all))}`,
      String(round(percentile(result.roundTrips, 50), 3)),
      String(percentile(bytes, 50)),
      String(missed),
    ],
  ];
  return table(['agents', 'meshed ms', 'tables full ms', 'changes', 'delivery ms p50/p99/max', 'all members ms p50/max', 'floor rtt ms', 'gossip bytes/change p50', 'incomplete'], rows);
}

function leaderTable(runs: LeaderRun[]): string {
  const kinds = [...new Set(runs.flatMap((run) => [...run.bytesByKind.keys()]))].sort();
  const rows = runs.map((run) => [
    run.mode,
    String(run.agents),
    String(run.endpoints),
    String(run.bytes),
    ...kinds.map((kind) => String(run.bytesByKind.get(kind) ?? 0)),
    String(Math.round(run.cpuMs)),
    String(Math.round(run.settleMs)),
    String(run.viewsReached),
    String(run.memberDigestPushes),
    String(run.corrections),
  ]);
  const header = ['agents gossip?', 'agents', 'endpoints', 'leader bytes', ...kinds.map((kind) => `${kind} bytes`), 'leader cpu ms', 'settled ms', 'views with it', 'member digest pushes', 'corrections'];
  return table(header, rows);
}

/**
 * Gossip propagation and what gossip saves the leader (issue #16). Part A: 50 agents in this
 * process on a loopback DHT, each change an endpoint one agent adds, timed until every other
 * agent's table holds it; floor = a one-message round trip between two linked transports.
 * `--changes 0` skips it. Part B: one wide change on bench/fanout's cluster of `--agents` fake
 * agents (default 1,000; 50 endpoints each), once without gossip and once with, in the same
 * run: the leader's bytes sent on sessions and its CPU. `--agents 0` skips it. Part C: three
 * gossiping agents in the lab, each change a sandbox on a1 connected to a network a2 and a3 host,
 * timed from the owner's sandbox holding the address to each member's neighbour entry for it;
 * beside it, from `network connect` returning to the owner holding it. `--lab-changes 0` skips it.
 */
export async function run(args: string[]): Promise<void> {
  const options = numberFlags('gossip', args, { changes: 20, agents: 1000, 'lab-changes': 10 });
  const figures: Record<string, unknown> = { bench: 'gossip' };
  if (options.changes > 0) {
    const mesh = await runMesh({ agents: MESH_AGENTS, changes: options.changes, roundTrips: ROUND_TRIPS }, progress);
    process.stdout.write(`Propagation, ${MESH_AGENTS} agents in-process on a loopback DHT (one network, every agent a member):\n${meshTable(mesh)}\n\n`);
    const deliveries = mesh.deliveries.length > 0 ? mesh.deliveries : [Infinity];
    Object.assign(figures, {
      p50_ms_50_agents: round(percentile(deliveries, 50)),
      p99_ms_50_agents: round(percentile(deliveries, 99)),
      floor_ms_50_agents: round(percentile(mesh.roundTrips, 50), 3),
      all_members_p50_ms_50_agents: round(percentile(mesh.changes.map((change) => change.allMs), 50)),
      meshed_ms_50_agents: Math.round(mesh.linkedMs),
      changes_50_agents: mesh.changes.length,
      incomplete_changes_50_agents: mesh.changes.filter((change) => change.allMs === Infinity).length,
    });
  }
  if (options.agents > 0) {
    const repoRoot = join(__dirname, '..', '..');
    const full = await runLeader(repoRoot, options.agents, 'full', progress);
    const gossip = await runLeader(repoRoot, options.agents, 'gossip', progress);
    process.stdout.write(`Leader cost of one wide change (a sandbox connected to the network all ${options.agents} nodes host), window = until settled + ${QUIET_MS} ms:\n${leaderTable([full, gossip])}\n\n`);
    Object.assign(figures, {
      leader_bytes_ratio: round(gossip.bytes / full.bytes, 4),
      leader_bytes_gossip: gossip.bytes,
      leader_bytes_full: full.bytes,
      leader_cpu_ms_gossip: Math.round(gossip.cpuMs),
      leader_cpu_ms_full: Math.round(full.cpuMs),
      leader_settled_ms_gossip: Math.round(gossip.settleMs),
      leader_settled_ms_full: Math.round(full.settleMs),
      leader_corrections_gossip: gossip.corrections,
      leader_agents: options.agents,
      leader_endpoints: full.endpoints,
      leader_quiet_ms: QUIET_MS,
    });
  }
  if (options['lab-changes'] > 0) {
    const lab = await runLab(options['lab-changes'], progress);
    const rows = [
      ['owner programmed → each member programmed (gossip)', String(round(percentile(lab.deliveries, 50))), String(round(percentile(lab.deliveries, 99)))],
      ['`network connect` returned → owner programmed (baseline: the managers\' path)', String(round(percentile(lab.ownerMs, 50))), String(round(percentile(lab.ownerMs, 99)))],
    ];
    process.stdout.write(`Propagation in the lab, 3 gossiping agents (${lab.ownerMs.length} changes):\n${table(['path', 'p50 ms', 'p99 ms'], rows)}\n\n`);
    Object.assign(figures, {
      p50_ms_lab: round(percentile(lab.deliveries, 50)),
      p99_ms_lab: round(percentile(lab.deliveries, 99)),
      owner_p50_ms_lab: round(percentile(lab.ownerMs, 50)),
      changes_lab: lab.ownerMs.length,
    });
  }
  figures.goals = GOALS;
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
