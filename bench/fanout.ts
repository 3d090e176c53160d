import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { table } from '../cli/output';
import { ConnectNetworkRequest, CreateSandboxRequest, type ControlClient } from '../proto/gen/trellis/v1/control';
import { callUnary } from '../proto/runtime/unary-call';
import { memoryMb, startFanoutCluster } from './fanout/cluster';
import type { FakeAgents, ViewUpdate, Watch } from './fanout/fake-agents';
import { endpointCount, nodeName, nodesOnRegional, regionalName, wideNetwork, type Layout } from './fanout/topology';
import { percentile, round } from './stats';
import { sampleValue } from '../proto/runtime/prometheus-text';

const changeTimeoutMs = 120_000;
const callTimeoutMs = 120_000;

interface Options {
  nodes: number[];
  changes: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = { nodes: [100, 1000], changes: 5 };
  for (let i = 0; i < args.length; i += 2) {
    const value = args[i + 1] ?? '';
    if (args[i] === '--nodes') options.nodes = value.split(',').map(Number);
    else if (args[i] === '--changes') options.changes = Number(value);
    else throw new Error(`unknown option ${args[i]} (use --nodes 100,1000 --changes 5)`);
  }
  return options;
}

interface Timing {
  /** Until the last expected agent had it, from the start of the connect call. */
  allMs: number;
  p50Ms: number;
  reached: number;
  expected: number;
}

function timing(watch: Watch, start: number): Timing {
  const delays = [...watch.arrivals.values()].map((at) => at - start);
  const complete = watch.arrivals.size === watch.expected.size;
  return {
    allMs: complete ? Math.max(...delays) : Infinity,
    p50Ms: delays.length > 0 ? percentile(delays, 50) : Infinity,
    reached: watch.arrivals.size,
    expected: watch.expected.size,
  };
}

interface ScaleResult {
  agents: number;
  endpoints: number;
  setupS: number;
  sessionsS: number;
  regional: Timing[];
  wide: Timing[];
  regionalFanout: number;
  rssMb: number;
  peakRssMb: number;
  /** Of the JavaScript heap: what the manager holds, apart from what V8 keeps reserved. */
  heapMb: number;
  viewsReceived: number;
  sessionErrors: number;
}

/**
 * One change: a new sandbox on node n0000 is connected to `network`; times how long until
 * every node hosting that network has a view holding the new endpoint.
 */
async function timeChange(control: ControlClient, agents: FakeAgents, nodeIds: string[], network: string, expected: Set<string>, name: string): Promise<Timing> {
  // Watched before it is made: the agent gets the new sandbox once, in one delta.
  const hasSandbox = (update: ViewUpdate): boolean => update.sandboxes.some((s) => s.name === name);
  const created = agents.watch(hasSandbox, new Set([nodeIds[0] ?? '']), changeTimeoutMs);
  const sandbox = await callUnary(control, (c) => c.createSandbox, CreateSandboxRequest.fromPartial({ name, node: nodeName(0) }), callTimeoutMs);
  // Let the sandbox's own push finish first, so the connect meets a quiet manager.
  await created;
  const hasEndpoint = (update: ViewUpdate): boolean => update.endpoints.some((e) => e.sandboxId === sandbox.id);
  const settled = agents.watch(hasEndpoint, expected, changeTimeoutMs);
  const start = performance.now();
  await callUnary(control, (c) => c.connectNetwork, ConnectNetworkRequest.fromPartial({ network, sandbox: sandbox.id }), callTimeoutMs);
  return timing(await settled, start);
}

async function runScale(repoRoot: string, nodes: number, changes: number, log: (line: string) => void): Promise<ScaleResult> {
  const layout: Layout = { nodes, perNode: 50, regional: 50, networksPerNode: 3 };
  const cluster = await startFanoutCluster(repoRoot, layout, log);
  const { manager, admin, agents, nodeIds, metricsAddress, setupS, sessionsS } = cluster;
  try {
    const regionalHosts = new Set(nodesOnRegional(layout, 0).map((index) => nodeIds[index] ?? ''));
    const everyNode = new Set(nodeIds);
    const regional: Timing[] = [];
    const wide: Timing[] = [];
    for (let i = 0; i < changes; i++) {
      regional.push(await timeChange(admin, agents, nodeIds, regionalName(0), regionalHosts, `probe-r-${i}`));
      log(`${nodes} agents: regional change ${i}: ${JSON.stringify(regional.at(-1))}`);
      wide.push(await timeChange(admin, agents, nodeIds, wideNetwork, everyNode, `probe-w-${i}`));
      log(`${nodes} agents: wide change ${i}: ${JSON.stringify(wide.at(-1))}`);
    }
    log(`${nodes} agents: readiness messages received ${agents.readinessReceived}`);
    const pid = manager.child.pid ?? 0;
    const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    for (const name of ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes', 'process_resident_memory_bytes']) {
      log(`${nodes} agents: ${name} ${round((sampleValue(metrics, name) ?? NaN) / 2 ** 20)} MB`);
    }
    return {
      agents: nodes,
      endpoints: endpointCount(layout),
      setupS,
      sessionsS,
      regional,
      wide,
      regionalFanout: regionalHosts.size,
      rssMb: memoryMb(pid, 'VmRSS'),
      peakRssMb: memoryMb(pid, 'VmHWM'),
      heapMb: round((sampleValue(metrics, 'nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20),
      viewsReceived: agents.viewsReceived,
      sessionErrors: agents.sessionErrors,
    };
  } finally {
    await cluster.close();
  }
}

const p50 = (timings: Timing[], pick: (t: Timing) => number): number => round(percentile(timings.map(pick), 50));
const max = (timings: Timing[], pick: (t: Timing) => number): number => round(Math.max(...timings.map(pick)));

/**
 * Time for one network change to reach every agent that hosts the network, with one real
 * manager (a child process, so its RSS is its own) and N in-process fake agents on real
 * Dispatcher sessions. Goal at 1,000 agents / 50,000 endpoints: ≤ 1 s and ≤ 500 MB.
 * Baseline in the same run: the same changes at 100 agents / 5,000 endpoints.
 */
export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const repoRoot = join(__dirname, '..', '..');
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const results: ScaleResult[] = [];
  for (const nodes of options.nodes) results.push(await runScale(repoRoot, nodes, options.changes, log));

  const rows = results.map((r) => [
    String(r.agents),
    String(r.endpoints),
    `${r.regionalFanout}`,
    `${p50(r.regional, (t) => t.allMs)} / ${max(r.regional, (t) => t.allMs)}`,
    `${p50(r.wide, (t) => t.allMs)} / ${max(r.wide, (t) => t.allMs)}`,
    `${p50(r.wide, (t) => t.p50Ms)}`,
    String(r.rssMb),
    String(r.peakRssMb),
    String(r.heapMb),
    String(r.setupS),
    String(r.sessionErrors),
  ]);
  process.stdout.write(
    table(['agents', 'endpoints', 'regional hosts', 'regional all-reached ms p50/max', 'wide all-reached ms p50/max', 'wide per-agent p50 ms', 'rss MB', 'peak rss MB', 'heap used MB', 'setup s', 'session errors'], rows) + '\n',
  );
  const big = results.at(-1);
  const small = results.length > 1 ? results[0] : undefined;
  if (!big) return;
  const fanout = max(big.wide, (t) => t.allMs);
  const figures = {
    bench: 'fanout',
    fanout_ms: fanout,
    fanout_p50_ms: p50(big.wide, (t) => t.allMs),
    regional_fanout_ms: max(big.regional, (t) => t.allMs),
    rss_mb: big.rssMb,
    peak_rss_mb: big.peakRssMb,
    heap_used_mb: big.heapMb,
    agents: big.agents,
    endpoints: big.endpoints,
    changes: options.changes,
    setup_s: big.setupS,
    session_errors: big.sessionErrors,
    baseline_agents: small?.agents,
    baseline_fanout_ms: small && max(small.wide, (t) => t.allMs),
    ratio: small && round(fanout / max(small.wide, (t) => t.allMs)),
    goal_met: fanout <= 1000 && big.rssMb <= 500,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
