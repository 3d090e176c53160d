import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type HyperDHT from 'hyperdht';
import { startDhtNode, type DhtAddress } from '../../proto/runtime/dht/dht-node';
import { startHyperswarmTransport, type HyperswarmTransport } from './hyperswarm-transport';
import type { GossipMember } from './transport';
import type { GossipTransportMetrics } from './transport-metrics';

/*
 * Real hyperswarm on loopback for the transport's tests: managers' bootstrap nodes and agents'
 * transports on 127.0.0.1, ephemeral ports, every DHT explicit (nothing leaves the machine).
 */

const LOOPBACK = '127.0.0.1';
export const CLUSTER_ID = 'cluster-gossip-test';

/** Waits for `check`, polling, at most `boundMs`; throws naming `what` when it never holds. */
export async function until(check: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${boundMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A manager's bootstrap node, as the manager daemon will start it. */
export async function startBootstrap(peers: readonly DhtAddress[]): Promise<HyperDHT> {
  return startDhtNode({ host: LOOPBACK, port: 0, bootstrap: peers });
}

/** What the transport reported, as the agent's metrics would see it. */
export class RecordedMetrics implements GossipTransportMetrics {
  readonly refused = new Set<string>();
  readonly framesRefused: { nodeId: string; length: number }[] = [];
  sent = 0;
  received = 0;
  linkChanged(): void {}
  bytesSent(_nodeId: string, bytes: number): void {
    this.sent += bytes;
  }
  bytesReceived(_nodeId: string, bytes: number): void {
    this.received += bytes;
  }
  peerRefused(publicKey: string): void {
    this.refused.add(publicKey);
  }
  frameRefused(nodeId: string, length: number): void {
    this.framesRefused.push({ nodeId, length });
  }
}

/** One agent's transport and everything it delivered, with the time of each link event. */
export class TestAgent {
  readonly messages: { from: string; text: string }[] = [];
  readonly peerEvents: { nodeId: string; connected: boolean; at: number }[] = [];
  readonly metrics = new RecordedMetrics();
  transport!: HyperswarmTransport;

  constructor(
    readonly nodeId: string,
    readonly stateDir: string,
    private readonly maxMessageBytes?: number,
  ) {}

  async start(bootstrap: readonly DhtAddress[]): Promise<void> {
    this.transport = await startHyperswarmTransport({
      stateDir: this.stateDir,
      clusterId: CLUSTER_ID,
      dht: { host: LOOPBACK, port: 0, bootstrap },
      maxMessageBytes: this.maxMessageBytes,
      metrics: this.metrics,
      log: pino({ level: 'silent' }),
    });
    this.transport.onMessage((from, message) => this.messages.push({ from, text: Buffer.from(message).toString() }));
    this.transport.onPeer((nodeId, connected) => this.peerEvents.push({ nodeId, connected, at: Date.now() }));
  }

  member(): GossipMember {
    return { nodeId: this.nodeId, publicKey: this.transport.publicKey };
  }

  linkedTo(nodeIds: readonly string[]): boolean {
    const linked = new Set(this.transport.linkedNodeIds());
    return nodeIds.every((nodeId) => nodeId === this.nodeId || linked.has(nodeId));
  }

  heardFrom(from: string, text: string): boolean {
    return this.messages.some((message) => message.from === from && message.text === text);
  }
}

/** A scratch directory for agents' state directories, removed by `remove`. */
export function scratchDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'trellis-gossipnet-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
