import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { adminControl } from '../../manager/cluster-clients';
import type { ControlClient, ListManagersResponse } from '../../proto/gen/trellis/v1/control';
import { callUnary } from '../../proto/runtime/unary-call';
import { freePorts, logTail, startProcess, stopProcess, waitFor, type Started } from './processes';

/** Three `trellis manager` processes on loopback, data on disk under `dir`. */
export class TrellisCluster {
  private readonly clients = new Map<string, ControlClient>();

  private constructor(
    readonly addresses: string[],
    /** Where the first manager wrote the CLI's admin certificate when it created the cluster. */
    readonly adminDir: string,
    private readonly processes: Started[],
  ) {}

  /**
   * Starts the first manager, then two more joining through it, and waits until
   * all three are voters. The first one creates the cluster (its admin certificate
   * goes to `dir`/admin); the others join with the manager token it hands out.
   * `started` receives each process as soon as it exists, so the caller can stop
   * them even if this fails half-way.
   */
  static async start(repoRoot: string, dir: string, started: Started[], extraNodeArgs: string[] = []): Promise<TrellisCluster> {
    const ports = await freePorts(3);
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    const main = join(repoRoot, 'dist', 'cli', 'main.js');
    const processes: Started[] = [];
    const adminDir = join(dir, 'admin');
    const cluster = new TrellisCluster(addresses, adminDir, processes);
    let managerToken = '';
    for (const [index, address] of addresses.entries()) {
      const dataDir = join(dir, `m${index}`);
      mkdirSync(dataDir, { recursive: true });
      const join_ = index === 0 ? ['--admin-dir', adminDir] : ['--join', addresses[0] ?? ''];
      // The managers share 127.0.0.1: their gossip DHT nodes take any free port, not one each of 4790.
      const args = [...extraNodeArgs, main, 'manager', '--listen', address, '--data-dir', dataDir, '--gossip-dht-port', '0', ...join_];
      // The token through the environment, as users are told to: argv is visible in `ps`.
      const env = index === 0 ? process.env : { ...process.env, TRELLIS_JOIN_TOKEN: managerToken };
      const manager = startProcess(`trellis m${index}`, process.execPath, args, join(dir, `m${index}.log`), env);
      processes.push(manager);
      started.push(manager);
      // Join one at a time: a manager joins as a learner and is promoted once caught up.
      await waitFor(`trellis m${index} to serve at ${address}`, async () => {
        if (manager.child.exitCode !== null) throw new Error(`exited with ${manager.child.exitCode}:\n${logTail(manager)}`);
        const answer = await cluster.listManagers(address);
        return answer.managers.filter((m) => m.role === 'voter').length === index + 1 ? true : undefined;
      });
      if (index === 0) {
        await waitFor('trellis m0 to lead', async () => ((await cluster.listManagers(address)).managers.some((m) => m.leader) ? true : undefined));
        managerToken = (await callUnary(cluster.client(address), (c) => c.getJoinTokens, {}, 10_000)).manager;
      }
    }
    return cluster;
  }

  /** A Control client with the admin certificate (throws until the first manager has written it). */
  client(address: string): ControlClient {
    let client = this.clients.get(address);
    if (!client) {
      client = adminControl(address, this.adminDir);
      this.clients.set(address, client);
    }
    return client;
  }

  listManagers(address: string): Promise<ListManagersResponse> {
    return callUnary(this.client(address), (c) => c.listManagers, {}, 2000);
  }

  /** The leader's address and one follower's, as the managers report them. */
  async roles(): Promise<{ leader: string; follower: string; leaderPid: number }> {
    const answer = await this.listManagers(this.addresses[0] ?? '');
    const leader = answer.managers.find((m) => m.leader)?.address;
    const follower = answer.managers.find((m) => !m.leader && m.role === 'voter')?.address;
    if (!leader || !follower) throw new Error(`no leader and follower in ${JSON.stringify(answer)}`);
    const leaderPid = this.processes[this.addresses.indexOf(leader)]?.child.pid ?? 0;
    return { leader, follower, leaderPid };
  }

  async stop(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    await Promise.all(this.processes.map((started) => stopProcess(started)));
  }
}
