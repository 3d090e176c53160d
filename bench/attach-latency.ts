import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Sandbox } from '../proto/gen/trellis/v1/types';
import { table } from '../cli/output';
import { labDown, labUp, trellisJson, trellisOk } from '../e2e/support/lab-driver';
import { percentile, round } from './stats';

const attaches = 20;

/**
 * Milliseconds until the first echo reply, probing every 2 ms for up to 5 s.
 * ping gives up at its first error (e.g. "host unreachable" when an ARP attempt
 * ran before the address was programmed), so it is started again until a reply comes.
 */
async function timeFirstReply(namespace: string, target: string): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < 5000) {
    if (await pingUntilReply(namespace, target)) return performance.now() - start;
  }
  throw new Error(`no reply from ${target} within 5 s`);
}

/** One ping run: true at its first reply (then stopped), false if it exits without one. */
function pingUntilReply(namespace: string, target: string): Promise<boolean> {
  const probe = spawn('ip', ['netns', 'exec', namespace, 'ping', '-n', '-i', '0.002', '-w', '5', target], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve) => {
    let output = '';
    probe.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!/bytes from/.test(output)) return;
      resolve(true);
      probe.kill();
    });
    probe.on('close', () => resolve(false));
  });
}

function namespaceOf(sandbox: string): string {
  return trellisJson<Sandbox>('m1', ['sandbox', 'inspect', sandbox]).netns.replace('/run/netns/', '');
}

/**
 * Time from `trellis network connect` returning to the first ping answered across
 * the overlay from the other host. Baseline in the same run: the same probe
 * against an endpoint that is already reachable (the cost of the probe itself).
 */
export async function run(): Promise<void> {
  labUp(1, 2);
  try {
    trellisOk('m1', ['network', 'create', '--subnet', '10.231.8.0/22', 'bench-net']);
    trellisOk('m1', ['sandbox', 'create', 'probe', '--node', 'a2']);
    trellisOk('m1', ['network', 'connect', 'bench-net', 'probe']);
    trellisOk('m1', ['sandbox', 'create', 'anchor', '--node', 'a1']);
    trellisOk('m1', ['network', 'connect', 'bench-net', 'anchor']);
    const probe = namespaceOf('probe');
    const anchorIp = trellisJson<Sandbox>('m1', ['sandbox', 'inspect', 'anchor']).endpoints[0]?.ip ?? '';
    await timeFirstReply(probe, anchorIp);

    const attach: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < attaches; i++) {
      const name = `attach-${i}`;
      trellisOk('m1', ['sandbox', 'create', name, '--node', 'a1']);
      // A static address lets the probe start the moment connect returns.
      const target = `10.231.9.${10 + i}`;
      trellisOk('m1', ['network', 'connect', '--ip', target, 'bench-net', name]);
      attach.push(await timeFirstReply(probe, target));
      floor.push(await timeFirstReply(probe, anchorIp));
      trellisOk('m1', ['sandbox', 'rm', name]);
    }
    const figures = {
      bench: 'attach-latency',
      attaches,
      p50_ms: round(percentile(attach, 50)),
      p99_ms: round(percentile(attach, 99)),
      probe_floor_p50_ms: round(percentile(floor, 50)),
      probe_floor_p99_ms: round(percentile(floor, 99)),
    };
    process.stdout.write(
      table(
        ['path', 'p50 ms', 'p99 ms'],
        [
          ['connect returned → first reply from the other host', String(figures.p50_ms), String(figures.p99_ms)],
          ['probe floor (same ping, endpoint already reachable)', String(figures.probe_floor_p50_ms), String(figures.probe_floor_p99_ms)],
        ],
      ) + '\n',
    );
    process.stdout.write(JSON.stringify(figures) + '\n');
  } finally {
    labDown();
  }
}
