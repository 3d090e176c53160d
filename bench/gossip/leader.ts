import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ConnectNetworkRequest, CreateSandboxRequest } from '../../proto/gen/trellis/v1/control';
import { sampleValue } from '../../proto/runtime/prometheus-text';
import { callUnary } from '../../proto/runtime/unary-call';
import { startFanoutCluster, type FanoutCluster } from '../fanout/cluster';
import type { ViewUpdate } from '../fanout/fake-agents';
import { nodeName, wideNetwork, type Layout } from '../fanout/topology';
import { waitFor } from '../raft/processes';

/*
 * Part B of the gossip bench: what one wide change (a sandbox connected to the network every
 * node hosts) costs the leader, on bench/fanout's cluster, with agents that do not gossip (every
 * view carries every endpoint) and with agents that do (FakeGossip stands in for the road).
 */

export type Mode = 'full' | 'gossip';

/** After the change settled, how long the leader is still watched for late pushes (a member's digest correction comes after a 2 s grace). */
export const QUIET_MS = 2_000;
const SENT_BYTES = 'trellis_dispatcher_sent_bytes_total';
const CORRECTIONS = 'trellis_gossip_digest_corrections_total';
const SETTLE_TIMEOUT_MS = 180_000;
const CALL_TIMEOUT_MS = 120_000;
/** Before the change, the leader must have sent nothing for this long (sessions opening, their reports, corrections). */
const IDLE_MS = 3_000;
const IDLE_TIMEOUT_MS = 300_000;

export interface LeaderRun {
  mode: Mode;
  agents: number;
  endpoints: number;
  /** Bytes the leader sent on sessions for the change, by message kind (only kinds that moved). */
  bytesByKind: Map<string, number>;
  bytes: number;
  /** Leader process CPU (user + system) over the same window. */
  cpuMs: number;
  /** From the connect call until settled (before the quiet period). */
  settleMs: number;
  /** Agents whose view got the endpoint (full: every one; gossip: the owner only, by design). */
  viewsReached: number;
  corrections: number;
  memberDigestPushes: number;
}

/** A process's user + system CPU time so far, ms (/proc/PID/stat fields 14 and 15). */
function cpuMs(pid: number, tickMs: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * tickMs;
}

function clockTickMs(): number {
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
  return 1000 / (Number.isFinite(ticks) && ticks > 0 ? ticks : 100);
}

/** Every sample of a counter, by its `kind` label. */
function byKind(metrics: string, name: string): Map<string, number> {
  const kinds = new Map<string, number>();
  const pattern = new RegExp(`^${name}\\{kind="([^"]*)"\\} (\\S+)$`, 'gm');
  for (const match of metrics.matchAll(pattern)) kinds.set(match[1] ?? '', Number(match[2]));
  return kinds;
}

async function scrape(cluster: FanoutCluster): Promise<string> {
  return (await fetch(`http://${cluster.metricsAddress}/metrics`)).text();
}

const total = (kinds: Map<string, number>): number => [...kinds.values()].reduce((sum, value) => sum + value, 0);

/** Waits until the leader has sent nothing on any session for IDLE_MS. */
async function leaderIdle(cluster: FanoutCluster): Promise<void> {
  let last = -1;
  let since = performance.now();
  await waitFor(
    'the leader to go quiet',
    async () => {
      const sent = total(byKind(await scrape(cluster), SENT_BYTES));
      if (sent !== last) [last, since] = [sent, performance.now()];
      return performance.now() - since >= IDLE_MS ? true : undefined;
    },
    IDLE_TIMEOUT_MS,
  );
}

/**
 * One wide change on a new cluster of `agents` fake agents (bench/fanout's layout), measured on
 * the leader: bytes sent on sessions (trellis_dispatcher_sent_bytes_total) and CPU, from just
 * before the connect until QUIET_MS after it settled. Settled: full — every agent's view holds
 * the endpoint and the owner was told it is ready; gossip — the owner's view holds it and it was
 * told it is ready (which needs every member's report of the owner's new digest).
 */
export async function runLeader(repoRoot: string, agents: number, mode: Mode, log: (line: string) => void): Promise<LeaderRun> {
  const layout: Layout = { nodes: agents, perNode: 50, regional: 50, networksPerNode: 3 };
  const say = (line: string): void => log(`${mode}: ${line}`);
  const cluster = await startFanoutCluster(repoRoot, layout, say, { gossip: mode === 'gossip' });
  try {
    const { admin, agents: fakes, nodeIds, manager } = cluster;
    const owner = nodeIds[0] ?? '';
    const name = 'gossip-probe';
    const created = fakes.watch((update: ViewUpdate) => update.sandboxes.some((s) => s.name === name), new Set([owner]), CALL_TIMEOUT_MS);
    const sandbox = await callUnary(admin, (c) => c.createSandbox, CreateSandboxRequest.fromPartial({ name, node: nodeName(0) }), CALL_TIMEOUT_MS);
    await created;
    await leaderIdle(cluster);
    fakes.recordReadiness(owner);
    const hasEndpoint = (update: ViewUpdate): boolean => update.endpoints.some((e) => e.sandboxId === sandbox.id);
    const viewsExpected = mode === 'full' ? new Set(nodeIds) : new Set([owner]);
    const pushesBefore = fakes.memberDigestPushes;
    const pid = manager.child.pid ?? 0;
    const tickMs = clockTickMs();
    const metricsBefore = await scrape(cluster);
    const cpuBefore = cpuMs(pid, tickMs);
    const views = fakes.watch(hasEndpoint, viewsExpected, SETTLE_TIMEOUT_MS);
    const start = performance.now();
    const endpoint = await callUnary(admin, (c) => c.connectNetwork, ConnectNetworkRequest.fromPartial({ network: wideNetwork, sandbox: sandbox.id }), CALL_TIMEOUT_MS);
    const watched = await views;
    const readyAt = await waitFor('the owner told its endpoint is ready', async () => fakes.readyAtMs(owner, endpoint.id), SETTLE_TIMEOUT_MS);
    const settleMs = Math.max(readyAt, ...watched.arrivals.values()) - start;
    say(`settled after ${Math.round(settleMs)} ms (${watched.arrivals.size}/${viewsExpected.size} views); watching the leader ${QUIET_MS} ms more`);
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const cpuAfter = cpuMs(pid, tickMs);
    const metricsAfter = await scrape(cluster);
    const before = byKind(metricsBefore, SENT_BYTES);
    const bytesByKind = new Map<string, number>();
    for (const [kind, value] of byKind(metricsAfter, SENT_BYTES)) if (value !== before.get(kind)) bytesByKind.set(kind, value - (before.get(kind) ?? 0));
    const corrections = (sampleValue(metricsAfter, CORRECTIONS) ?? 0) - (sampleValue(metricsBefore, CORRECTIONS) ?? 0);
    return {
      mode,
      agents,
      endpoints: agents * layout.perNode,
      bytesByKind,
      bytes: total(bytesByKind),
      cpuMs: cpuAfter - cpuBefore,
      settleMs,
      viewsReached: watched.arrivals.size,
      corrections,
      memberDigestPushes: fakes.memberDigestPushes - pushesBefore,
    };
  } finally {
    await cluster.close();
  }
}
