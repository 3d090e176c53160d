import type { ChildProcess } from 'node:child_process';
import { startServer } from '../../agent/firewall/kernel-test-traffic';

/** The answering servers a scenario starts in lab namespaces, each stopped by its PID when the scenario is done with it. */
export class Servers {
  private readonly running: ChildProcess[] = [];

  /** A TCP and UDP server on `port` in `namespace` that answers with the source address it saw. */
  async serve(namespace: string, port: number): Promise<ChildProcess> {
    const server = await startServer(namespace, [port]);
    this.running.push(server);
    return server;
  }

  stopAll(): void {
    for (const server of this.running.splice(0)) server.kill();
  }
}
