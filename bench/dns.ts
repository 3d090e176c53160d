import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Sandbox } from '../proto/gen/trellis/v1/types';
import { table } from '../cli/output';
import { RESOLVER_ADDRESS } from '../agent/dns/model';
import { labDown, labUp, trellisJson, trellisOk } from '../e2e/support/lab-driver';
import { sandboxNamespace } from '../e2e/support/overlay';
import { waitForNamespaces } from './attach-latency/busy-node';
import { numberFlags } from './flags';
import { percentile, round } from './stats';

/** dnsmasq listens beside the resolver, in the same sandbox, on another loopback address. */
const DNSMASQ_ADDRESS = '127.0.0.12';
const LOAD_SCRIPT = join(__dirname, 'dns', 'query-load.js');
const RESOLVABLE_WITHIN_MS = 60_000;
const GOALS = { p99_ms: 2, ratio_vs_dnsmasq: 0.5 };

interface Load {
  queries: number;
  failures: number;
  qps: number;
  p50_ms: number;
  p99_ms: number;
}

interface Options {
  seconds: number;
  concurrency: number;
  attaches: number;
}

function progress(line: string): void {
  process.stderr.write(`dns: ${line}\n`);
}

function load(namespace: string, server: string, name: string, seconds: number, concurrency: number): Load {
  const result = spawnSync('ip', ['netns', 'exec', namespace, process.execPath, LOAD_SCRIPT, 'load', server, name, String(seconds), String(concurrency)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`dns bench: the load against ${server} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim()) as Load;
}

/**
 * A resolver client living in the asking sandbox for the whole run: each name written to it is
 * asked every millisecond until it resolves, and the milliseconds that took come back.
 */
class Prober {
  private readonly child: ChildProcess;
  private readonly replies: Array<(ms: number) => void> = [];

  constructor(namespace: string) {
    this.child = spawn('ip', ['netns', 'exec', namespace, process.execPath, LOAD_SCRIPT, 'probe', RESOLVER_ADDRESS], { stdio: ['pipe', 'pipe', 'inherit'] });
    if (!this.child.stdout) throw new Error('dns bench: the prober has no stdout');
    createInterface({ input: this.child.stdout }).on('line', (line) => this.replies.shift()?.(Number(line)));
  }

  resolve(name: string): Promise<number> {
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`dns bench: ${name} did not resolve within ${RESOLVABLE_WITHIN_MS} ms`)), RESOLVABLE_WITHIN_MS);
      this.replies.push((ms) => {
        clearTimeout(timer);
        done(ms);
      });
      this.child.stdin?.write(`${name}\n`);
    });
  }

  stop(): void {
    this.child.kill();
  }
}

/** dnsmasq serving `name` from a hosts file in `namespace`: the baseline of the same run. */
function startDnsmasq(namespace: string, name: string, ip: string, dir: string): ChildProcess {
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, `${ip}\t${name}\n`);
  return spawn(
    'ip',
    ['netns', 'exec', namespace, 'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, `--listen-address=${DNSMASQ_ADDRESS}`, '--bind-interfaces', '--port=53', '--pid-file=', '--user=root', '--log-facility=/dev/null'],
    { stdio: 'ignore' },
  );
}

/**
 * The cluster's resolver answering a cluster name from inside a sandbox, against dnsmasq serving
 * the same name from a hosts file in the same sandbox (the same client, the same run): latency
 * one query at a time, throughput with `concurrency` clients. Then `network connect` returned →
 * the new name resolves from a sandbox on the other host, beside the same prober asking a name
 * that already resolves (the cost of the probe itself).
 */
export async function run(args: string[] = []): Promise<void> {
  const options: Options = numberFlags('dns', args, { seconds: 5, concurrency: 16, attaches: 20 });
  const dir = mkdtempSync(join(tmpdir(), 'trellis-dns-bench-'));
  let dnsmasq: ChildProcess | undefined;
  let prober: Prober | undefined;
  try {
    labUp(1, 2);
    trellisOk('m1', ['network', 'create', '--subnet', '10.232.0.0/22', 'bench-dns']);
    for (const [sandbox, node] of [['target', 'a1'], ['client', 'a2']] as const) {
      trellisOk('m1', ['sandbox', 'create', sandbox, '--node', node]);
      trellisOk('m1', ['network', 'connect', 'bench-dns', sandbox]);
    }
    const client = sandboxNamespace('client');
    const targetIp = trellisJson<Sandbox>('m1', ['sandbox', 'inspect', 'target']).endpoints[0]?.ip ?? '';
    prober = new Prober(client);
    await prober.resolve('target');
    dnsmasq = startDnsmasq(client, 'target', targetIp, dir);
    progress(`latency and throughput, ${options.seconds} s each`);
    const serial = { trellis: load(client, RESOLVER_ADDRESS, 'target', options.seconds, 1), dnsmasq: load(client, DNSMASQ_ADDRESS, 'target', options.seconds, 1) };
    const parallel = {
      trellis: load(client, RESOLVER_ADDRESS, 'target', options.seconds, options.concurrency),
      dnsmasq: load(client, DNSMASQ_ADDRESS, 'target', options.seconds, options.concurrency),
    };
    progress(`${options.attaches} attaches on a1, each resolved from a2`);
    const attach: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < options.attaches; i++) {
      const name = `attached-${i}`;
      trellisOk('m1', ['sandbox', 'create', name, '--node', 'a1']);
      await waitForNamespaces([sandboxNamespace(name)], true);
      trellisOk('m1', ['network', 'connect', 'bench-dns', name]);
      attach.push(await prober.resolve(name));
      floor.push(await prober.resolve('target'));
    }
    report(options, serial, parallel, attach, floor);
  } finally {
    prober?.stop();
    dnsmasq?.kill();
    labDown();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(options: Options, serial: Record<'trellis' | 'dnsmasq', Load>, parallel: Record<'trellis' | 'dnsmasq', Load>, attach: number[], floor: number[]): void {
  const figures = {
    bench: 'dns',
    qps: parallel.trellis.qps,
    p50_ms: serial.trellis.p50_ms,
    p99_ms: serial.trellis.p99_ms,
    dnsmasq_qps: parallel.dnsmasq.qps,
    dnsmasq_p50_ms: serial.dnsmasq.p50_ms,
    dnsmasq_p99_ms: serial.dnsmasq.p99_ms,
    ratio_vs_dnsmasq: round(parallel.trellis.qps / parallel.dnsmasq.qps, 2),
    concurrency: options.concurrency,
    failures: serial.trellis.failures + parallel.trellis.failures,
    attach_to_resolvable_ms: { p50: round(percentile(attach, 50)), p99: round(percentile(attach, 99)) },
    probe_floor_ms: { p50: round(percentile(floor, 50), 2), p99: round(percentile(floor, 99), 2) },
    goals: GOALS,
  };
  process.stdout.write(
    table(
      ['server (from inside a sandbox)', 'p50 ms (1 client)', 'p99 ms (1 client)', `qps (${options.concurrency} clients)`, 'failures'],
      (['trellis', 'dnsmasq'] as const).map((server) => [
        server === 'trellis' ? `trellis ${RESOLVER_ADDRESS}` : `dnsmasq ${DNSMASQ_ADDRESS} (baseline)`,
        String(serial[server].p50_ms),
        String(serial[server].p99_ms),
        String(parallel[server].qps),
        String(serial[server].failures + parallel[server].failures),
      ]),
    ) + '\n\n',
  );
  process.stdout.write(
    table(
      ['path', 'p50 ms', 'p99 ms'],
      [
        ['network connect returned → name resolves on the other host', String(figures.attach_to_resolvable_ms.p50), String(figures.attach_to_resolvable_ms.p99)],
        ['probe floor (a name that already resolves)', String(figures.probe_floor_ms.p50), String(figures.probe_floor_ms.p99)],
      ],
    ) + '\n',
  );
  process.stdout.write(`p99_ms: ${figures.p99_ms} (goal ≤ ${GOALS.p99_ms}); ratio_vs_dnsmasq: ${figures.ratio_vs_dnsmasq} (goal ≥ ${GOALS.ratio_vs_dnsmasq})\n`);
  process.stdout.write(JSON.stringify(figures) + '\n');
}
