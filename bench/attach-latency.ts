import type { Sandbox } from '../proto/gen/trellis/v1/types';
import { table } from '../cli/output';
import { NETNS_RUN_DIR } from '../agent/kernel/names';
import { labDown, labUp, trellisJson, trellisOk } from '../e2e/support/lab-driver';
import { fillNode, waitForNamespaces } from './attach-latency/busy-node';
import { timeFirstReply } from './attach-latency/probe';
import { numberFlags } from './flags';
import { percentile, round } from './stats';

interface Options {
  /** Attaches on a node with only the anchor on it (the bench's original measurement). */
  attaches: number;
  /** Sandboxes already on the target node, one stage each, ascending. */
  sandboxes: readonly number[];
  'attaches-per-size': number;
  /** 1: the agents gossip (lab up --gossip), so the probe's host learns the attached endpoint from the target's agent. */
  gossip: number;
}

/** The attach target's node; the probe sits on the other one. */
const TARGET = 'a1';
/** The goal: an attach on a node with 1,000 sandboxes as fast as on one with 10, give or take 20 %. */
const RATIO_GOAL = 1.2;

interface Sample {
  attach: number[];
  floor: number[];
}

interface Probe {
  namespace: string;
  anchorIp: string;
  /** The next static address to give an attached sandbox, 10.231.9.10 and up (the bench network is a /22). */
  nextHost: number;
}

function namespaceOf(sandbox: string): string {
  return trellisJson<Sandbox>('m1', ['sandbox', 'inspect', sandbox]).netns.replace(`${NETNS_RUN_DIR}/`, '');
}

function progress(line: string): void {
  process.stderr.write(`attach-latency: ${line}\n`);
}

/**
 * Time from `trellis network connect` returning to the first ping answered across
 * the overlay from the other host. Baseline in the same run: the same probe
 * against an endpoint that is already reachable (the cost of the probe itself).
 * Then the same with `sandboxes` sandboxes already on the target node, in stages.
 */
export async function run(args: string[] = []): Promise<void> {
  const options: Options = numberFlags('attach-latency', args, { attaches: 20, sandboxes: [10, 1000], 'attaches-per-size': 5, gossip: 0 });
  const sizes = options.sandboxes;
  if (options.attaches < 1 || options['attaches-per-size'] < 1 || sizes.some((size, i) => size < 1 || !Number.isInteger(size) || size <= (sizes[i - 1] ?? 0))) {
    throw new Error('attach-latency bench: --attaches and --attaches-per-size ≥ 1; --sandboxes whole numbers ≥ 1, ascending (e.g. 10,1000)');
  }
  if (options.gossip !== 0 && options.gossip !== 1) throw new Error('attach-latency bench: --gossip 0 (the managers bring every endpoint) or 1 (lab up --gossip)');
  try {
    labUp(1, 2, { gossip: options.gossip === 1 });
    trellisOk('m1', ['network', 'create', '--subnet', '10.231.8.0/22', 'bench-net']);
    trellisOk('m1', ['sandbox', 'create', 'probe', '--node', 'a2']);
    trellisOk('m1', ['network', 'connect', 'bench-net', 'probe']);
    trellisOk('m1', ['sandbox', 'create', 'anchor', '--node', TARGET]);
    trellisOk('m1', ['network', 'connect', 'bench-net', 'anchor']);
    const probe: Probe = { namespace: namespaceOf('probe'), anchorIp: trellisJson<Sandbox>('m1', ['sandbox', 'inspect', 'anchor']).endpoints[0]?.ip ?? '', nextHost: 0 };
    await timeFirstReply(probe.namespace, probe.anchorIp);

    const quiet = await measureAttaches(probe, 'attach-', options.attaches);
    // The anchor is the target node's first sandbox; fillers (on no network) make up the rest of each size.
    let onNode = 1;
    const busy: Array<{ size: number } & Sample> = [];
    for (const size of sizes) {
      if (size > onNode) await fillNode(TARGET, 'busy-', onNode, size, progress);
      onNode = Math.max(onNode, size);
      progress(`${onNode} sandboxes on ${TARGET}: ${options['attaches-per-size']} attaches`);
      busy.push({ size, ...(await measureAttaches(probe, `attach-${size}-`, options['attaches-per-size'])) });
    }
    report(options, quiet, busy);
  } finally {
    labDown();
  }
}

/**
 * `count` attaches of a fresh sandbox on the target node, each timed to its first reply and
 * followed by the probe floor. Each sandbox's namespace is there before its connect and gone
 * before the next one is made, so an attach waits for no pass of the sandbox's own create or rm.
 */
async function measureAttaches(probe: Probe, prefix: string, count: number): Promise<Sample> {
  const sample: Sample = { attach: [], floor: [] };
  for (let i = 0; i < count; i++) {
    const name = `${prefix}${i}`;
    trellisOk('m1', ['sandbox', 'create', name, '--node', TARGET]);
    const namespace = namespaceOf(name);
    await waitForNamespaces([namespace], true);
    // A static address lets the probe start the moment connect returns.
    const host = 10 + probe.nextHost++;
    const target = `10.231.${9 + Math.floor(host / 256)}.${host % 256}`;
    trellisOk('m1', ['network', 'connect', '--ip', target, 'bench-net', name]);
    sample.attach.push(await timeFirstReply(probe.namespace, target));
    sample.floor.push(await timeFirstReply(probe.namespace, probe.anchorIp));
    trellisOk('m1', ['sandbox', 'rm', name]);
    await waitForNamespaces([namespace], false);
  }
  return sample;
}

function report(options: Options, quiet: Sample, busy: ReadonlyArray<{ size: number } & Sample>): void {
  const p50 = (values: number[]) => round(percentile(values, 50));
  const smallest = busy[0];
  const largest = busy[busy.length - 1];
  const ratio = smallest && largest ? round(percentile(largest.attach, 50) / percentile(smallest.attach, 50), 2) : NaN;
  const ratioName = `ratio_${largest?.size}_vs_${smallest?.size}`;
  const figures = {
    bench: 'attach-latency',
    gossip: options.gossip === 1,
    attaches: options.attaches,
    p50_ms: p50(quiet.attach),
    p99_ms: round(percentile(quiet.attach, 99)),
    probe_floor_p50_ms: p50(quiet.floor),
    probe_floor_p99_ms: round(percentile(quiet.floor, 99)),
    attaches_per_size: options['attaches-per-size'],
    ...Object.fromEntries(busy.flatMap(({ size, attach, floor }) => [[`p50_ms_${size}`, p50(attach)], [`max_ms_${size}`, round(Math.max(...attach))], [`probe_floor_p50_ms_${size}`, p50(floor)]])),
    [ratioName]: ratio,
    ratio_goal: RATIO_GOAL,
  };
  process.stdout.write(
    table(
      ['path', 'p50 ms', 'p99 ms'],
      [
        ['connect returned → first reply from the other host', String(figures.p50_ms), String(figures.p99_ms)],
        ['probe floor (same ping, endpoint already reachable)', String(figures.probe_floor_p50_ms), String(figures.probe_floor_p99_ms)],
      ],
    ) + '\n\n',
  );
  process.stdout.write(
    table(
      [`sandboxes already on ${TARGET}`, 'attaches', 'p50 ms', 'max ms', 'probe floor p50 ms'],
      busy.map(({ size, attach, floor }) => [String(size), String(attach.length), String(p50(attach)), String(round(Math.max(...attach))), String(p50(floor))]),
    ) + '\n',
  );
  process.stdout.write(`${ratioName}: ${ratio} (goal ≤ ${RATIO_GOAL})\n`);
  process.stdout.write(JSON.stringify(figures) + '\n');
}
