import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { ControlClient } from '../proto/gen/trellis/v1/control';
import { initCluster } from './ca';
import { adminControl } from './cluster-clients';
import { startManager, type ManagerOptions, type RunningManager } from './daemon';

/**
 * For tests: one real manager on loopback behind mutual TLS, on a fresh cluster made by
 * `initCluster` in a temporary directory, and the clients the test opened, closed with it.
 */
export class TestManager {
  readonly clients: { close(): void }[] = [];

  private constructor(
    readonly root: string,
    readonly manager: RunningManager,
  ) {}

  static async start(prefix: string, options: Partial<ManagerOptions> = {}): Promise<TestManager> {
    const root = mkdtempSync(join(tmpdir(), prefix));
    await initCluster({ dataDir: join(root, 'm1'), adminDir: join(root, 'admin') });
    const manager = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm1'), logger: pino({ level: 'silent' }), ...options });
    return new TestManager(root, manager);
  }

  get adminDir(): string {
    return join(this.root, 'admin');
  }

  track<C extends { close(): void }>(client: C): C {
    this.clients.push(client);
    return client;
  }

  /** A Control client holding the admin certificate the cluster wrote at init. */
  admin(): ControlClient {
    return this.track(adminControl(this.manager.address, this.adminDir));
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    await this.manager.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}
