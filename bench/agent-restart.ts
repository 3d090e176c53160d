import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { table } from '../cli/output';
import { NodeView } from '../proto/gen/trellis/v1/dispatcher';
import { deleteOneFdbEntry, hostReads, sandboxReads } from './agent-restart/kernel-reads';
import { attachDuringTimerPasses } from './agent-restart/attach-during-timer';
import { profiled, type PassProfile } from './agent-restart/counting-runner';
import type { PassJob, PassResult } from './agent-restart/pass';
import { numberFlags } from './flags';
import { GATEWAY_VETH_PREFIX, networkNetnsName, processRunner } from '../agent/kernel';
import { benchReconciler, createHostPair, ipIn, type BenchHost } from './netns/hosts';
import { withPrivateNetnsDir } from './netns/private-netns-dir';
import { withTeardown, type Teardown } from './netns/teardown';
import { clusterView, type ViewNode } from './netns/views';
import { percentile, round } from './stats';

interface Options {
  networks: number;
  endpoints: number;
  'remote-nodes': number;
  restarts: number;
}

/** A row: a pass (profiled) or a baseline (time only). */
interface Row {
  label: string;
  ms: number;
  profile?: PassProfile;
}

const FIRST_VNI = 10_000;
const FLOOR_REPEATS = 3;
/** Attaches made while timer passes run. */
const ATTACHES = 10;

/**
 * One node with `networks` networks and `endpoints` local endpoints (one sandbox each), and the
 * same number of endpoints on each of `remote-nodes` other nodes (FDB and neighbour entries):
 * programmed cold by the agent's Reconciler, then reconciled again by a fresh process per simulated
 * restart (time to converge, kernel writes: the goal is none; then the time until a query inside a
 * sandbox is answered by the resolver on 127.0.0.11 again), after one hand-made drift, and
 * removed. Baselines in the same run: the reads alone that any level-triggered pass must make, and
 * `ip netns del` alone of the same namespaces (programmed again), the floor of a removal.
 */
export async function run(args: string[]): Promise<void> {
  const options: Options = numberFlags('agent-restart', args, { networks: 100, endpoints: 1000, 'remote-nodes': 2, restarts: 3 });
  if (options.networks < 1 || options.endpoints % options.networks !== 0 || options.restarts < 1) {
    throw new Error('agent-restart bench: --endpoints must be a multiple of --networks (≥ 1), --restarts ≥ 1');
  }
  await withPrivateNetnsDir(() => withTeardown((teardown) => measure(options, teardown)));
}

async function measure(options: Options, teardown: Teardown): Promise<void> {
  const tag = `${process.pid}`;
  const owner = `trbn${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'trbn-agent-restart-'));
  teardown.add(`removing ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
  // The second host only ends the uplink's veth; the remote nodes are addresses, as the agent sees them.
  const [host] = await createHostPair(tag, teardown);
  const local: ViewNode = { id: host.nodeId, address: host.address, sandboxPrefix: `trsb-${owner}` };
  const remotes: ViewNode[] = Array.from({ length: options['remote-nodes'] }, (_, index) => ({
    id: `${owner}-remote${index + 1}`, address: `198.19.0.${10 + index}`, sandboxPrefix: `trsb-${owner}-remote${index + 1}`,
  }));
  const view = clusterView(local, [local, ...remotes], { networks: options.networks, endpointsPerNode: options.endpoints / options.networks, firstVni: FIRST_VNI });
  teardown.add(`removing the agent's objects (owner ${owner})`, () => benchReconciler(host, owner).removeAll());
  const rows: Row[] = [];
  const pass = (label: string, profile: PassProfile) => rows.push({ label, ms: profile.ms, profile });

  progress(`programming ${view.sandboxes.length} sandboxes on ${view.networks.length} networks (cold)`);
  const cold = await profiled(host, owner, (reconciler) => reconciler.reconcile(view));
  if (cold.result.skipped.length > 0) throw new Error(`the reconciler skipped parts of the view: ${cold.result.skipped.slice(0, 3).join('; ')}`);
  pass('cold: first programming of an empty kernel', cold.profile);

  const restarts = await measureRestarts(join(dir, 'job.json'), { host, owner, view: NodeView.toJSON(view) }, options.restarts);
  pass(`restart: fresh process, same view (median of ${options.restarts})`, restarts.median);
  rows.push(
    { label: '  the same, process start to exit', ms: restarts.processMs },
    { label: `  then DNS: the resolver's sockets in all ${view.sandboxes.length} sandboxes`, ms: restarts.dns.socketsMs },
    { label: '  pass start → a query inside a sandbox to 127.0.0.11 answered', ms: restarts.dns.resolvingMs },
  );
  const warm = await profiled(host, owner, (reconciler) => reconciler.reconcile(view));
  pass('timer pass: fresh Reconciler in a warm process', warm.profile);

  progress('drift: deleting one FDB entry by hand');
  const drifted = await deleteOneFdbEntry(host, view);
  const drift = await profiled(host, owner, (reconciler) => reconciler.reconcile(view));
  pass(`drift: one FDB entry deleted by hand (${drifted})`, drift.profile);

  progress(`attaches during timer passes: ${ATTACHES} new sandboxes, one at a time, while full passes run back to back`);
  const attaching = await attachDuringTimerPasses(benchReconciler(host, owner), view, local.sandboxPrefix, ATTACHES);
  rows.push(
    { label: `attach during timer passes: its scoped pass (median of ${ATTACHES}; ${attaching.scoped} scoped)`, ms: percentile(attaching.passMs, 50) },
    { label: '  the longest an attach waited behind a timer pass', ms: Math.max(...attaching.waitedMs) },
  );

  progress('baseline: the reads alone');
  const floors = await measureFloors(host, view.sandboxes.map((sandbox) => sandbox.netnsName));
  rows.push(
    { label: 'floor: ip -d link + bridge fdb + ip neigh (host netns)', ms: floors.hostMs },
    { label: `floor: the same + one ip -n … addr show in each of ${view.sandboxes.length} sandboxes`, ms: floors.ipNetnsMs },
    { label: '  the same, entering each sandbox with nsenter --net', ms: floors.nsenterMs },
  );

  progress('removeAll');
  const removal = await profiled(host, owner, (reconciler) => reconciler.removeAll());
  pass('removeAll: delete everything the bench programmed', removal.profile);
  const netnsDelMs = await measureNetnsDelFloor(host, owner, view);
  rows.push({ label: `floor: ip netns del of the same ${view.sandboxes.length + view.networks.length} namespaces, programmed again`, ms: netnsDelMs });

  const seconds = (ms: number) => round(ms / 1000, 3);
  report(options, view, host, rows, {
    converge_s: seconds(restarts.median.ms),
    converge_max_s: seconds(restarts.maxMs),
    converge_reading_s: seconds(restarts.median.readingMs),
    converge_commands: restarts.median.commands,
    restart_process_s: seconds(restarts.processMs),
    dns_resolving_s: seconds(restarts.dns.resolvingMs),
    dns_resolving_max_s: seconds(restarts.dns.resolvingMaxMs),
    dns_sockets_s: seconds(restarts.dns.socketsMs),
    dns_update_s: seconds(restarts.dns.updateMs),
    dns_namespaces_served: restarts.dns.served,
    kernel_writes_when_clean: restarts.median.writes,
    restarts: options.restarts,
    cold_s: seconds(cold.profile.ms),
    cold_writes: cold.profile.writes,
    warm_pass_s: seconds(warm.profile.ms),
    warm_pass_writes: warm.profile.writes,
    drift_s: seconds(drift.profile.ms),
    drift_writes: drift.profile.writes,
    drift_actions: drift.result.actions,
    floor_host_reads_s: seconds(floors.hostMs),
    floor_sandbox_reads_s: seconds(floors.ipNetnsMs),
    floor_sandbox_reads_nsenter_s: seconds(floors.nsenterMs),
    timer_pass_blocks_attach_ms: round(Math.max(...attaching.waitedMs), 1),
    attach_pass_ms: round(percentile(attaching.passMs, 50), 1),
    attach_pass_processes: percentile(attaching.processes, 50),
    attaches_scoped: attaching.scoped,
    attaches: attaching.attaches,
    full_pass_processes: percentile(attaching.fullPassProcesses, 50),
    remove_all_s: seconds(removal.profile.ms),
    remove_all_writes: removal.profile.writes,
    remove_all_commands: removal.profile.commands,
    ip_netns_del_floor_s: seconds(netnsDelMs),
  });
}

/** After each restart's pass: how long until a sandbox's query was answered again, medians (and the slowest). */
interface DnsFigures {
  resolvingMs: number;
  resolvingMaxMs: number;
  socketsMs: number;
  updateMs: number;
  /** The fewest namespaces any restart served. */
  served: number;
}

/**
 * `count` restarts, each a fresh process reconciling the view once, then bringing the resolver
 * back. The median pass, with the most writes any restart made (the goal is none anywhere), the
 * slowest pass, the median process lifetime, and the resolver's figures.
 */
async function measureRestarts(file: string, job: PassJob, count: number): Promise<{ median: PassProfile; maxMs: number; processMs: number; dns: DnsFigures }> {
  writeFileSync(file, JSON.stringify(job));
  const restarts: { pass: PassResult; processMs: number }[] = [];
  for (let restart = 1; restart <= count; restart++) {
    progress(`restart ${restart}/${count}: a fresh process reconciles the same view`);
    restarts.push(await passInFreshProcess(file));
  }
  const profiles = restarts.map((restart) => restart.pass.profile).sort((a, b) => a.ms - b.ms);
  const median = profiles[Math.floor((profiles.length - 1) / 2)];
  if (median === undefined) throw new Error('no restart was measured');
  return {
    median: { ...median, writes: Math.max(...profiles.map((profile) => profile.writes)) },
    maxMs: Math.max(...profiles.map((profile) => profile.ms)),
    processMs: percentile(restarts.map((restart) => restart.processMs), 50),
    dns: dnsFigures(restarts.map((restart) => restart.pass)),
  };
}

function dnsFigures(passes: readonly PassResult[]): DnsFigures {
  const failing = passes.find((pass) => pass.dns.failing > 0);
  if (failing !== undefined) throw new Error(`the resolver could not serve ${failing.dns.failing} sandbox namespaces after a restart`);
  const resolving = passes.map((pass) => pass.profile.ms + pass.dns.answeredMs);
  return {
    resolvingMs: percentile(resolving, 50),
    resolvingMaxMs: Math.max(...resolving),
    socketsMs: percentile(passes.map((pass) => pass.dns.socketsMs), 50),
    updateMs: percentile(passes.map((pass) => pass.dns.updateMs), 50),
    served: Math.min(...passes.map((pass) => pass.dns.served)),
  };
}

/** The reads alone, each the median of a few: the host's three tables, then also one read per sandbox, entered two ways. */
async function measureFloors(host: BenchHost, sandboxes: string[]): Promise<{ hostMs: number; ipNetnsMs: number; nsenterMs: number }> {
  return {
    hostMs: await median(FLOOR_REPEATS, () => hostReads(host.netns)),
    ipNetnsMs: await median(FLOOR_REPEATS, () => Promise.all([hostReads(host.netns), sandboxReads(sandboxes, 'ip -n')])),
    nsenterMs: await median(FLOOR_REPEATS, () => Promise.all([hostReads(host.netns), sandboxReads(sandboxes, 'nsenter')])),
  };
}

/**
 * The least a removal can cost: the same namespaces programmed again, then their names deleted in
 * one `ip -batch` and nothing else (the kernel tears them down in the background, as it does after
 * removeAll). Waits first for the teardown of removeAll's namespaces, whose gateway veths hold
 * names the view wants again; the bench's teardown removes what the floor leaves (the host's links).
 */
async function measureNetnsDelFloor(host: BenchHost, owner: string, view: NodeView): Promise<number> {
  progress('floor: waiting for the kernel to finish tearing down, then programming the same view again');
  await gatewayVethsGone(host);
  await benchReconciler(host, owner).reconcile(view);
  const namespaces = [...view.sandboxes.map((sandbox) => sandbox.netnsName), ...view.networks.map((network) => networkNetnsName(owner, network.vni))];
  progress(`floor: ip netns del of the same ${namespaces.length} namespaces`);
  const start = performance.now();
  await processRunner.run(['ip', '-batch', '-'], namespaces.map((netns) => `netns del ${netns}\n`).join(''));
  const ms = performance.now() - start;
  await gatewayVethsGone(host);
  return ms;
}

/** Polls until the host namespace holds no gateway veth (they go with their sandboxes' namespaces, in the background). */
async function gatewayVethsGone(host: BenchHost): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const links = JSON.parse(await ipIn(host.netns, '-j', 'link', 'show')) as { ifname: string }[];
    if (!links.some((link) => link.ifname.startsWith(GATEWAY_VETH_PREFIX))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gateway veths still in ${host.netns} after 60 s`);
}

async function median(repeats: number, body: () => Promise<unknown>): Promise<number> {
  const sample: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await body();
    sample.push(performance.now() - start);
  }
  return percentile(sample, 50);
}

/** `node pass.js JOB`: a restarted agent's first pass, in a process that has run nothing before. */
function passInFreshProcess(job: string): Promise<{ pass: PassResult; processMs: number }> {
  const start = performance.now();
  const child = spawn(process.execPath, [join(__dirname, 'agent-restart', 'pass.js'), job], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const processMs = performance.now() - start;
      if (code !== 0) reject(new Error(`restart pass exited with ${code}: ${Buffer.concat(stderr).toString().trim()}`));
      else resolve({ pass: JSON.parse(Buffer.concat(stdout).toString()) as PassResult, processMs });
    });
  });
}

function progress(what: string): void {
  process.stderr.write(`agent-restart: ${what}\n`);
}

function report(options: Options, view: NodeView, host: BenchHost, rows: Row[], figures: Record<string, unknown>): void {
  const remoteEndpoints = view.endpoints.filter((endpoint) => endpoint.nodeId !== view.nodeId).length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  process.stdout.write(
    `${view.networks.length} networks, ${view.sandboxes.length} local endpoints (one sandbox each), ` +
      `${remoteEndpoints} remote endpoints on ${options['remote-nodes']} nodes (as many FDB and neighbour entries); host netns ${host.netns}\n` +
      table(
        ['pass', 'seconds', 'of which reading', 'commands run', 'kernel writes'],
        rows.map(({ label, ms, profile }) =>
          profile === undefined
            ? [label, seconds(ms), '', '', '']
            : [label, seconds(ms), seconds(profile.readingMs), String(profile.commands), String(profile.writes)],
        ),
      ) +
      '\n',
  );
  const json = {
    bench: 'agent-restart',
    networks: view.networks.length,
    local_endpoints: view.sandboxes.length,
    remote_endpoints: remoteEndpoints,
    remote_nodes: options['remote-nodes'],
    ...figures,
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}
