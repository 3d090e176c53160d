/** One real `trellis manager` process on loopback, run from dist/ the way a user starts it, watched from outside. */
import { Client, Metadata } from '@grpc/grpc-js';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, logTail, startProcess, stopProcess, waitFor, type Started } from '../../bench/raft/processes';
import { adminControl, adminCredentials } from '../../manager/cluster-clients';
import { ControlClient } from '../../proto/gen/trellis/v1/control';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';
import { findRepoRoot } from '../lab/context';

const HEALTH_CHECK = '/grpc.health.v1.Health/Check';
const SERVING = '0801'; // HealthCheckResponse { status: SERVING }
const bytes = (buffer: Buffer): Buffer => buffer;

/** A release made before managers ran a gossip DHT node: it knows no --gossip-dht-port (and binds no DHT port). */
export const PREDATES_GOSSIP = 'predates-gossip';

export class ManagerProcess {
  private constructor(
    readonly address: string,
    readonly adminDir: string,
    private readonly started: Started,
  ) {}

  /**
   * A new one-manager cluster in `dir` (data in dir/data, the admin certificate in dir/admin), once it answers.
   * `program` is the trellis program node runs: the checkout's dist/cli/main.js, or a release artifact.
   * Its gossip DHT node takes `gossipDhtPort` (udp, on 127.0.0.1): any free one by default, as
   * tests on one machine cannot all have 4790; PREDATES_GOSSIP for a release older than the flag.
   */
  static async start(dir: string, program = join(findRepoRoot(__dirname), 'dist', 'cli', 'main.js'), gossipDhtPort: number | typeof PREDATES_GOSSIP = 0): Promise<ManagerProcess> {
    const address = `127.0.0.1:${await freePort()}`;
    const dataDir = join(dir, 'data');
    const adminDir = join(dir, 'admin');
    mkdirSync(dataDir, { recursive: true });
    const dht = gossipDhtPort === PREDATES_GOSSIP ? [] : ['--gossip-dht-port', String(gossipDhtPort)];
    const args = [program, 'manager', '--listen', address, '--data-dir', dataDir, '--admin-dir', adminDir, ...dht, '--log-level', 'warn'];
    const manager = new ManagerProcess(address, adminDir, startProcess('trellis manager', process.execPath, args, join(dir, 'manager.log')));
    await waitFor(`the manager to serve at ${address}`, async () => {
      if (!manager.alive()) throw new Error(`it exited:\n${manager.logTail()}`);
      const client = adminControl(address, adminDir);
      try {
        const answer = await callUnary(client, (c) => c.listManagers, {}, 2000);
        return answer.managers.some((m) => m.leader) ? true : undefined;
      } finally {
        client.close();
      }
    });
    return manager;
  }

  get pid(): number {
    return this.started.child.pid ?? 0;
  }

  alive(): boolean {
    return this.started.child.exitCode === null && this.started.child.signalCode === null;
  }

  exitReason(): string {
    const { exitCode, signalCode } = this.started.child;
    return signalCode ? `killed by ${signalCode}` : `exited with ${exitCode}`;
  }

  /** A Control client with the admin certificate; `maxReceiveBytes` lifts gRPC's 4 MB reply limit for observers. */
  control(maxReceiveBytes?: number): ControlClient {
    if (maxReceiveBytes === undefined) return adminControl(this.address, this.adminDir);
    return new ControlClient(this.address, adminCredentials(this.adminDir), { ...managerChannelOptions, 'grpc.max_receive_message_length': maxReceiveBytes });
  }

  /** The standard gRPC health check, as a load balancer would ask it. */
  async serving(): Promise<boolean> {
    const client = new Client(this.address, adminCredentials(this.adminDir), managerChannelOptions);
    try {
      return await new Promise<boolean>((resolve) =>
        client.makeUnaryRequest(HEALTH_CHECK, bytes, bytes, Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 10_000 }, (error, reply) =>
          resolve(error === null && reply?.toString('hex') === SERVING),
        ),
      );
    } finally {
      client.close();
    }
  }

  /** The process's resident set: now and its peak so far (VmRSS, VmHWM), in bytes. */
  memory(): { rss: number; peak: number } {
    const text = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  }

  logTail(lines = 30): string {
    return logTail(this.started, lines);
  }

  stop(): Promise<void> {
    return stopProcess(this.started);
  }
}
