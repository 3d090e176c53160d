import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePorts, logTail, startProcess, stopProcess, waitFor, type Started } from './processes';
import type { Write } from './load';

export const etcdBinary = 'etcd';

/** The etcd version line, or undefined when `etcd` is not installed. */
export function etcdVersion(): string | undefined {
  const result = spawnSync(etcdBinary, ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return /etcd Version: (\S+)/.exec(result.stdout)?.[1] ?? result.stdout.split('\n')[0];
}

/** Three etcd members on loopback with their default durability (fsync on every commit). */
export class EtcdCluster {
  private readonly clients = new Map<string, Etcd3>();

  private constructor(
    readonly clientUrls: string[],
    private readonly processes: Started[],
  ) {}

  static async start(dir: string, started: Started[]): Promise<EtcdCluster> {
    const ports = await freePorts(6);
    const names = ['e0', 'e1', 'e2'];
    const clientUrls = names.map((_, i) => `http://127.0.0.1:${ports[i]}`);
    const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i + 3]}`);
    const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
    const token = `trellis-bench-${randomBytes(4).toString('hex')}`;
    const processes: Started[] = [];
    const cluster = new EtcdCluster(clientUrls, processes);
    for (const [i, name] of names.entries()) {
      const dataDir = join(dir, name);
      mkdirSync(dataDir, { recursive: true });
      const args = [
        '--name', name,
        '--data-dir', dataDir,
        '--listen-client-urls', clientUrls[i] ?? '',
        '--advertise-client-urls', clientUrls[i] ?? '',
        '--listen-peer-urls', peerUrls[i] ?? '',
        '--initial-advertise-peer-urls', peerUrls[i] ?? '',
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--logger', 'zap',
        '--log-level', 'warn',
      ];
      const member = startProcess(`etcd ${name}`, etcdBinary, args, join(dir, `${name}.log`));
      processes.push(member);
      started.push(member);
    }
    await waitFor('etcd to elect a leader', async () => {
      for (const member of processes) {
        if (member.child.exitCode !== null) throw new Error(`${member.name} exited with ${member.child.exitCode}:\n${logTail(member)}`);
      }
      return (await cluster.leader()) ?? undefined;
    });
    return cluster;
  }

  client(url: string): Etcd3 {
    let client = this.clients.get(url);
    if (!client) {
      client = new Etcd3({ hosts: url });
      this.clients.set(url, client);
    }
    return client;
  }

  /** The client URL of the member that leads, once every member agrees there is one. */
  async leader(): Promise<string | undefined> {
    const statuses = await Promise.all(this.clientUrls.map((url) => this.client(url).maintenance.status()));
    const leaderId = statuses[0]?.leader;
    if (!leaderId || leaderId === '0' || statuses.some((status) => status.leader !== leaderId)) return undefined;
    const index = statuses.findIndex((status) => status.header.member_id === leaderId);
    return index < 0 ? undefined : this.clientUrls[index];
  }

  /** Each client puts a 256-byte value under its own key, again and again. */
  writes(url: string, run: string): Write {
    const client = this.client(url);
    const value = randomBytes(128).toString('hex');
    return async (clientIndex) => {
      await client.put(`bench/${run}/c${clientIndex}`).value(value);
    };
  }

  async stop(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    await Promise.all(this.processes.map((started) => stopProcess(started)));
  }
}
