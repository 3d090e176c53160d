import { mkdtempSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { table } from '../cli/output';
import { applyVariant, pathDevices, VARIANTS, type PathDevices, type Variant } from './dataplane/offloads';
import { assertReachable, iperfVersion, startIperfServer, tcpGbps, type Endpoint } from './dataplane/iperf';
import { buildBridgePath, buildMacvlanPath } from './dataplane/lan-path';
import { buildHandbuiltPath, buildTrellisPath, type OverlayPath } from './dataplane/paths';
import { numberFlags } from './flags';
import { UPLINK, UNDERLAY_MTU, createHostPair } from './netns/hosts';
import { withPrivateNetnsDir } from './netns/private-netns-dir';
import { withTeardown, type Teardown } from './netns/teardown';
import { SANDBOX_INTERFACE } from './netns/views';
import { percentile, round } from './stats';

interface Options {
  seconds: number;
  runs: number;
  /** 0: skip the offload variants. */
  variants: number;
}

/** A path measured `runs` times, between `from` and the iperf3 server at `to`. */
interface Measured {
  label: string;
  from: string;
  to: Endpoint;
  gbps: number[];
}

interface Tried {
  variant: Variant;
  unavailable: string | undefined;
  gbps: number[];
}

/**
 * iperf3 TCP throughput, one stream, in one run for (a) the underlay: a veth between two host
 * namespaces, (b) VXLAN + bridge + veth built by hand with the agent's settings, (c) the same
 * programmed by the agent's Reconciler from synthesized node views, (d) a macvlan network on the
 * underlay and (e) a bridge network masqueraded to the far host, both programmed by the Reconciler
 * too; then (c) again with each offload variant applied on top. Runs are interleaved (a–e, variants; repeat) so a noisy
 * neighbour hits every path alike; medians are reported.
 */
export async function run(args: string[]): Promise<void> {
  const options: Options = numberFlags('dataplane', args, { seconds: 5, runs: 3, variants: 1 });
  if (!Number.isInteger(options.seconds) || options.seconds < 1 || !Number.isInteger(options.runs) || options.runs < 1) {
    throw new Error('dataplane bench: --seconds and --runs take whole numbers ≥ 1');
  }
  const iperf = await iperfVersion();
  if (iperf === undefined) throw new Error('dataplane bench: iperf3 is not installed (apt-get install iperf3; scripts/setup.sh does)');
  await withPrivateNetnsDir(() => withTeardown((teardown) => measure(options, iperf, teardown)));
}

async function measure(options: Options, iperf: string, teardown: Teardown): Promise<void> {
  const tag = `${process.pid}`;
  const logDir = mkdtempSync(join(tmpdir(), 'trbn-dataplane-'));
  teardown.add(`removing ${logDir}`, async () => rmSync(logDir, { recursive: true, force: true }));
  const hosts = await createHostPair(tag, teardown);
  const handbuilt = await buildHandbuiltPath(hosts, tag, UNDERLAY_MTU, teardown);
  const trellis = await buildTrellisPath(hosts, tag, teardown);
  const macvlan = await buildMacvlanPath(hosts, tag, teardown);
  const bridge = await buildBridgePath(hosts, tag, teardown);
  const underlay: OverlayPath = { near: { netns: hosts[0].netns, address: hosts[0].address }, far: { netns: hosts[1].netns, address: hosts[1].address } };

  const paths: Measured[] = [
    { label: '(a) underlay: veth between the two hosts', path: underlay },
    { label: '(b) hand-built VXLAN + bridge + veth', path: handbuilt },
    { label: '(c) Trellis overlay (the agent\'s Reconciler)', path: trellis },
    { label: '(d) Trellis macvlan on the underlay (no overlay)', path: macvlan },
    { label: '(e) Trellis bridge network, masqueraded to the far host', path: bridge },
  ].map(({ label, path }) => ({ label, from: path.near.netns, to: path.far, gbps: [] }));
  const serving = new Set<string>();
  for (const path of paths) {
    // (e) goes to the far host's own address, whose server (a) started.
    const server = `${path.to.netns} ${path.to.address}`;
    if (!serving.has(server)) await startIperfServer(path.to, logDir, teardown);
    serving.add(server);
    await assertReachable(path.from, path.to);
  }
  const devices = await pathDevices(hosts.map((host) => host.netns), UPLINK, trellis, SANDBOX_INTERFACE);
  const tried: Tried[] = [];
  for (const variant of options.variants > 0 ? VARIANTS : []) tried.push({ variant, unavailable: await variant.unavailable(devices), gbps: [] });

  for (let pass = 1; pass <= options.runs; pass++) {
    for (const path of paths) {
      progress(`run ${pass}/${options.runs}: ${path.label}`);
      path.gbps.push(await tcpGbps(path.from, path.to, options.seconds));
    }
    for (const attempt of tried.filter((candidate) => candidate.unavailable === undefined)) {
      progress(`run ${pass}/${options.runs}: (c) + ${attempt.variant.name}`);
      attempt.gbps.push(await withVariant(attempt.variant, devices, () => tcpGbps(trellis.near.netns, trellis.far, options.seconds)));
    }
  }
  report(options, iperf, paths, tried);
}

async function withVariant<T>(variant: Variant, devices: PathDevices, body: () => Promise<T>): Promise<T> {
  const revert = await applyVariant(variant, devices);
  try {
    return await body();
  } finally {
    await revert();
  }
}

function progress(what: string): void {
  process.stderr.write(`dataplane: ${what}\n`);
}

const median = (sample: number[]) => percentile(sample, 50);
const ratio = (a: number, b: number) => round(a / b, 3);
const signedPercent = (factor: number) => `${factor >= 1 ? '+' : ''}${round((factor - 1) * 100)}%`;

function report(options: Options, iperf: string, paths: Measured[], tried: Tried[]): void {
  const [underlay, handbuilt, trellis, macvlan, bridge] = paths.map((path) => median(path.gbps));
  if (underlay === undefined || handbuilt === undefined || trellis === undefined || macvlan === undefined || bridge === undefined) throw new Error('five paths were measured');
  const runs = (gbps: number[]) => gbps.map((value) => round(value, 2).toFixed(2)).join(' ');
  const rows = paths.map((path) => {
    const gbps = median(path.gbps);
    return [path.label, round(gbps, 2).toFixed(2), runs(path.gbps), ratio(gbps, underlay).toFixed(3), ratio(gbps, handbuilt).toFixed(3), ''];
  });
  for (const attempt of tried) {
    const label = `(c) + ${attempt.variant.name}`;
    if (attempt.unavailable !== undefined) {
      rows.push([label, 'n/a', attempt.unavailable, '', '', '']);
      continue;
    }
    const gbps = median(attempt.gbps);
    rows.push([label, round(gbps, 2).toFixed(2), runs(attempt.gbps), ratio(gbps, underlay).toFixed(3), ratio(gbps, handbuilt).toFixed(3), signedPercent(gbps / trellis)]);
  }
  process.stdout.write(
    `iperf3 ${iperf}, one TCP stream, ${options.seconds} s a run, median of ${options.runs} interleaved runs; kernel ${release()}; underlay MTU ${UNDERLAY_MTU}\n` +
      table(['path', 'Gbit/s', 'runs', '÷ (a)', '÷ (b)', 'vs (c) as is'], rows) +
      '\n',
  );
  const figures = {
    bench: 'dataplane',
    seconds: options.seconds,
    runs: options.runs,
    kernel: release(),
    iperf3: iperf,
    underlay_gbps: round(underlay, 2),
    handbuilt_gbps: round(handbuilt, 2),
    trellis_gbps: round(trellis, 2),
    ratio_trellis_vs_handbuilt: ratio(trellis, handbuilt),
    ratio_trellis_vs_underlay: ratio(trellis, underlay),
    ratio_handbuilt_vs_underlay: ratio(handbuilt, underlay),
    macvlan_gbps: round(macvlan, 2),
    ratio_macvlan_vs_underlay: ratio(macvlan, underlay),
    bridge_gbps: round(bridge, 2),
    ratio_bridge_vs_underlay: ratio(bridge, underlay),
    variants: tried.map((attempt) => {
      const gbps = attempt.unavailable === undefined ? median(attempt.gbps) : undefined;
      return {
        name: attempt.variant.name,
        unavailable: attempt.unavailable ?? null,
        gbps: gbps === undefined ? null : round(gbps, 2),
        ratio_vs_underlay: gbps === undefined ? null : ratio(gbps, underlay),
        ratio_vs_trellis: gbps === undefined ? null : ratio(gbps, trellis),
      };
    }),
  };
  process.stdout.write(JSON.stringify(figures) + '\n');
}
