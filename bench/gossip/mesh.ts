/// <reference path="../../proto/runtime/dht/holepunch.d.ts" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type HyperDHT from 'hyperdht';
import { GossipAgent, type OwnEndpoint } from '../../agent/gossip/gossip-agent';
import { startHyperswarmTransport, type HyperswarmTransport } from '../../agent/gossip/hyperswarm-transport';
import type { GossipMetrics } from '../../agent/gossip/model';
import { dhtNodeAddress, startDhtNode, type DhtAddress } from '../../proto/runtime/dht/dht-node';
import { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import { waitFor } from '../raft/processes';
import { percentile } from '../stats';

/*
 * Part A of the gossip bench: agents in this process on a DHT of their own on loopback, every
 * one a member of one network, each announcing endpoints to the others over real hyperswarm
 * links. Nothing reaches a manager: the members and their keys come from the bench, as a view
 * would bring them, and no digests are held (gossip is programmed as it comes, rule 1 of the
 * precedence rule), so what is timed is the road alone.
 */

const LOOPBACK = '127.0.0.1';
const CLUSTER_ID = 'trellis-bench-gossip';
const NETWORK = 'bench-net';
/** As an agent would run them; anti-entropy is a backstop here (every change reaches linked members at once). */
const TIMERS = { fallbackAfterMs: 5_000, antiEntropyIntervalMs: 10_000, antiEntropyPeers: 2, tombstoneTtlMs: 60_000 };
const TICK_MS = 500;
const MESH_TIMEOUT_MS = 120_000;
const CHANGE_TIMEOUT_MS = 30_000;
/** Between changes, so that one change's traffic is over before the next is timed. */
const PAUSE_MS = 100;

export interface MeshOptions {
  agents: number;
  changes: number;
  roundTrips: number;
}

export interface ChangeTiming {
  owner: string;
  /** Until the last member's table held the endpoint; Infinity when one never did. */
  allMs: number;
  reached: number;
  /** Gossip wire bytes every agent sent while the change travelled (anti-entropy rounds included). */
  bytes: number;
}

export interface MeshResult {
  agents: number;
  /** From the members being set until every agent had a link to every other. */
  linkedMs: number;
  /** Until every agent's table held every other agent's first endpoint. */
  tablesMs: number;
  /** Every (change, member) delivery: from setOwnEndpoints on the owner to the member's table holding it. */
  deliveries: number[];
  changes: ChangeTiming[];
  /** One-message round trips (send, echo) between two linked transports, ms. */
  roundTrips: number[];
}

/** Counts the gossip bytes the agents send; the rest of GossipMetrics is not needed here. */
class SentBytes implements GossipMetrics {
  total = 0;
  entries(): void {}
  digestMismatch(): void {}
  fallback(): void {}
  rejected(): void {}
  syncBytes(direction: 'sent' | 'received', _kind: string, bytes: number): void {
    if (direction === 'sent') this.total += bytes;
  }
}

interface MeshAgent {
  nodeId: string;
  vtep: string;
  transport: HyperswarmTransport;
  gossip: GossipAgent;
  own: OwnEndpoint[];
  linkedAt?: number;
  tablesAt?: number;
}

/** A change in flight: the endpoint, when it was announced, and when each member's table held it. */
interface Pending {
  endpointId: string;
  owner: string;
  start: number;
  arrivals: Map<string, number>;
  done: () => void;
}

const silent = pino({ level: 'silent' });

async function startTransport(stateDir: string, bootstrap: DhtAddress[]): Promise<HyperswarmTransport> {
  return startHyperswarmTransport({ stateDir, clusterId: CLUSTER_ID, dht: { host: LOOPBACK, port: 0, bootstrap }, log: silent });
}

/** An endpoint as its owner would announce it; addresses are data only (nothing is sent to them). */
function endpoint(owner: MeshAgent, ownerIndex: number, serial: number): OwnEndpoint {
  const id = `${owner.nodeId}-ep${serial}`;
  return {
    ...GossipEntry.fromPartial({
      endpointId: id,
      ip: `10.${64 + (ownerIndex >> 8)}.${ownerIndex & 255}.${serial + 2}`,
      prefixLength: 8,
      mac: `02:42:0a:${(ownerIndex & 255).toString(16).padStart(2, '0')}:${(serial & 255).toString(16).padStart(2, '0')}:01`,
      vtep: owner.vtep,
      sandboxId: `${id}-sandbox`,
      sandboxName: `${id}-sandbox`,
      hostname: id,
    }),
    networkId: NETWORK,
  };
}

export async function runMesh(options: MeshOptions, log: (line: string) => void): Promise<MeshResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'trellis-gbench-'));
  const bytes = new SentBytes();
  const agents: MeshAgent[] = [];
  const pending = new Set<Pending>();
  const floor: HyperswarmTransport[] = [];
  let bootstrapNode: HyperDHT | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    bootstrapNode = await startDhtNode({ host: LOOPBACK, port: 0, bootstrap: [] });
    const bootstrap = [dhtNodeAddress(bootstrapNode)];
    const count = options.agents;
    const startedAt = performance.now();
    // One after the other, as agents come up: 50 DHT nodes bootstrapping in the same instant left
    // some pairs unlinked for good in trials (hyperswarm stops redialing a key after 5 failed dials).
    const transports: HyperswarmTransport[] = [];
    for (let i = 0; i < count; i++) transports.push(await startTransport(join(scratch, `agent-${i}`), bootstrap));
    log(`${count} transports (each with its DHT node) started in ${Math.round(performance.now() - startedAt)} ms`);
    let revision = 1;
    for (const [index, transport] of transports.entries()) {
      const nodeId = `agent-${String(index).padStart(2, '0')}`;
      const agent: MeshAgent = {
        nodeId,
        vtep: `198.19.${(index + 1) >> 8}.${(index + 1) & 255}`,
        transport,
        own: [],
        gossip: new GossipAgent({
          nodeId,
          epoch: 1,
          transport,
          now: () => performance.now(),
          ...TIMERS,
          askManager: () => undefined,
          onTableChange: () => onTableChange(agent),
          metrics: bytes,
          onError: (error) => log(`${nodeId}: ${String(error)}`),
        }),
      };
      agents.push(agent);
      transport.onPeer(() => {
        if (agent.linkedAt === undefined && transport.linkedNodeIds().length === count - 1) agent.linkedAt = performance.now();
      });
    }
    function onTableChange(agent: MeshAgent): void {
      const now = performance.now();
      const table = agent.gossip.table(NETWORK);
      if (agent.tablesAt === undefined && table.length >= count - 1) agent.tablesAt = now;
      for (const change of pending) {
        if (change.owner === agent.nodeId || change.arrivals.has(agent.nodeId)) continue;
        if (!table.some((entry) => entry.endpointId === change.endpointId)) continue;
        change.arrivals.set(agent.nodeId, now);
        if (change.arrivals.size === count - 1) change.done();
      }
    }
    ticker = setInterval(() => agents.forEach((agent) => agent.gossip.tick()), TICK_MS);

    // Every agent owns one endpoint before it meets the others, as a node with a sandbox would.
    for (const [index, agent] of agents.entries()) {
      agent.own = [endpoint(agent, index, 0)];
      agent.gossip.setOwnEndpoints(agent.own, revision);
    }
    const members = agents.map((agent) => ({ nodeId: agent.nodeId, publicKey: agent.transport.publicKey, vtep: agent.vtep }));
    const meshStart = performance.now();
    for (const agent of agents) agent.gossip.setNetworks([{ networkId: NETWORK, members }]);
    const links = (): string => `${agents.reduce((sum, agent) => sum + agent.transport.linkedNodeIds().length, 0) / 2} of ${(count * (count - 1)) / 2} links up`;
    await waitFor('every agent linked to every other', async () => (agents.every((agent) => agent.linkedAt !== undefined) ? true : undefined), MESH_TIMEOUT_MS).catch((error: Error) => {
      throw new Error(`${error.message} (${links()})`);
    });
    await waitFor("every agent's table holding every other agent's endpoint", async () => (agents.every((agent) => agent.tablesAt !== undefined) ? true : undefined), MESH_TIMEOUT_MS);
    const linkedMs = Math.max(...agents.map((agent) => (agent.linkedAt ?? Infinity) - meshStart));
    const tablesMs = Math.max(...agents.map((agent) => (agent.tablesAt ?? Infinity) - meshStart));
    log(`${count} agents fully meshed after ${Math.round(linkedMs)} ms, every table full after ${Math.round(tablesMs)} ms`);

    const roundTrips = await measureFloor(bootstrap, scratch, options.roundTrips, floor);
    log(`floor: round trip p50 ${percentile(roundTrips, 50).toFixed(3)} ms, max ${Math.max(...roundTrips).toFixed(3)} ms over ${roundTrips.length}`);

    const changes: ChangeTiming[] = [];
    const deliveries: number[] = [];
    for (let k = 0; k < options.changes; k++) {
      const ownerIndex = Math.floor(Math.random() * count);
      const owner = agents[ownerIndex] as MeshAgent;
      const added = endpoint(owner, ownerIndex, k + 1);
      owner.own = [...owner.own, added];
      revision += 1;
      const bytesBefore = bytes.total;
      let done: () => void = () => undefined;
      const allArrived = new Promise<void>((resolve) => (done = resolve));
      const change: Pending = { endpointId: added.endpointId, owner: owner.nodeId, start: performance.now(), arrivals: new Map(), done };
      pending.add(change);
      owner.gossip.setOwnEndpoints(owner.own, revision);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allArrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, CHANGE_TIMEOUT_MS)))]);
      clearTimeout(timer);
      pending.delete(change);
      const delays = [...change.arrivals.values()].map((at) => at - change.start);
      deliveries.push(...delays);
      const reached = change.arrivals.size;
      const timing: ChangeTiming = { owner: owner.nodeId, allMs: reached === count - 1 ? Math.max(...delays) : Infinity, reached, bytes: bytes.total - bytesBefore };
      changes.push(timing);
      log(`change ${k}: ${owner.nodeId} added ${added.endpointId}; ${reached}/${count - 1} members after ${timing.allMs.toFixed(1)} ms, ${timing.bytes} gossip bytes`);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
    return { agents: count, linkedMs, tablesMs, deliveries, changes, roundTrips };
  } finally {
    clearInterval(ticker);
    await Promise.allSettled([...agents.map((agent) => agent.transport.close()), ...floor.map((transport) => transport.close())]);
    await bootstrapNode?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The floor under a delivery: two more transports on the same DHT and in the same process
 * (so under the same load), linked to each other only; one sends a small message, the other
 * echoes it, `count` times in a row.
 */
async function measureFloor(bootstrap: DhtAddress[], scratch: string, count: number, started: HyperswarmTransport[]): Promise<number[]> {
  const [a, b] = [await startTransport(join(scratch, 'floor-a'), bootstrap), await startTransport(join(scratch, 'floor-b'), bootstrap)];
  started.push(a, b);
  const members = [
    { nodeId: 'floor-a', publicKey: a.publicKey },
    { nodeId: 'floor-b', publicKey: b.publicKey },
  ];
  a.setMembers(members);
  b.setMembers(members);
  await waitFor('the two floor transports linked', async () => (a.linkedNodeIds().includes('floor-b') && b.linkedNodeIds().includes('floor-a') ? true : undefined), MESH_TIMEOUT_MS);
  b.onMessage((from, message) => void b.send(from, message));
  let answered: (() => void) | undefined;
  a.onMessage(() => answered?.());
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const echoed = new Promise<void>((resolve) => (answered = resolve));
    const start = performance.now();
    if (!a.send('floor-b', Buffer.from(`ping ${i}`))) throw new Error('the floor link went down');
    await echoed;
    times.push(performance.now() - start);
  }
  return times;
}
