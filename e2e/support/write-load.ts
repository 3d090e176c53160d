import { onHostInBackground } from './lab-driver';

/** One write a client was told succeeded (or not), with when it was sent and answered. */
export interface WriteOutcome {
  name: string;
  acknowledged: boolean;
  sentAt: number;
  answeredAt: number;
}

/**
 * Writers that create networks through the CLI on a lab host, as fast as the
 * CLI answers, until stopped. Every answer is recorded, so a test can check
 * that no acknowledged write was lost.
 */
export class WriteLoad {
  readonly outcomes: WriteOutcome[] = [];
  private running = true;
  private readonly writers: Promise<void>[];

  constructor(host: string, writers: number, private readonly prefix: string) {
    this.writers = Array.from({ length: writers }, (_, writer) => this.write(host, writer));
  }

  acknowledged(): string[] {
    return this.outcomes.filter((o) => o.acknowledged).map((o) => o.name);
  }

  /** Writes sent after `time` and acknowledged: proof the cluster accepts writes since then. */
  acknowledgedSince(time: number): WriteOutcome[] {
    return this.outcomes.filter((o) => o.acknowledged && o.sentAt > time);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.writers);
  }

  private async write(host: string, writer: number): Promise<void> {
    for (let sequence = 0; this.running; sequence++) {
      const name = `${this.prefix}-${writer}-${sequence}`;
      // A distinct /24 per write: networks of one cluster may not share a subnet by accident.
      const subnet = `10.${100 + writer}.${sequence % 256}.0/24`;
      const sentAt = Date.now();
      const result = await onHostInBackground(host, ['trellis', 'network', 'create', '--subnet', subnet, name]);
      this.outcomes.push({ name, acknowledged: result.code === 0, sentAt, answeredAt: Date.now() });
      if (result.code !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
