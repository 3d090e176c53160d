/// <reference path="../proto/runtime/dht/holepunch.d.ts" />
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type HyperDHT from 'hyperdht';
import { freeUdpPort } from '../bench/raft/processes';
import { startDhtNode } from '../proto/runtime/dht/dht-node';
import { MANAGER_DHT_PORT } from '../proto/runtime/dht/ports';
import { callUnary } from '../proto/runtime/unary-call';
import { initCluster } from './ca';
import { adminControl } from './cluster-clients';
import { managerDhtBootstrap } from './cluster/gossip-dht';
import { startManager, type RunningManager } from './daemon';

/*
 * Every manager runs a gossip DHT bootstrap node on the host of its --listen address, joined to
 * the other managers' nodes. Real managers on loopback addresses of their own (127.0.0.2 and .3)
 * sharing one UDP port, as managers on different hosts share 4790.
 */
const logger = pino({ level: 'silent' });

async function bindUdp(host: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => resolve());
  });
  return socket;
}

const closeUdp = (socket: Socket) => new Promise<void>((resolve) => socket.close(() => resolve()));

/** A UDP port free on every loopback address the test uses (checked by binding each). */
async function freeOnAll(hosts: readonly string[]): Promise<number> {
  for (;;) {
    const port = await freeUdpPort(hosts[0]);
    const bound = await Promise.allSettled(hosts.map((host) => bindUdp(host, port)));
    await Promise.all(bound.map((each) => (each.status === 'fulfilled' ? closeUdp(each.value) : undefined)));
    if (bound.every((each) => each.status === 'fulfilled')) return port;
  }
}

async function until(check: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${boundMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("the managers' gossip DHT bootstrap nodes", () => {
  let root: string;
  const running: RunningManager[] = [];
  const probes: HyperDHT[] = [];
  let port: number;

  beforeAll(async () => {
    port = await freeOnAll(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  });
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-manager-dht-'));
    await initCluster({ dataDir: join(root, 'm1'), adminDir: join(root, 'admin') });
  });
  afterEach(async () => {
    await Promise.allSettled(probes.splice(0).map((probe) => probe.destroy()));
    for (const manager of running.splice(0)) await manager.close();
    rmSync(root, { recursive: true, force: true });
  });

  const start = async (name: string, host: string, join?: string, joinToken?: string) => {
    const manager = await startManager({ listen: `${host}:0`, dataDir: `${root}/${name}`, join, joinToken, gossipDhtPort: port, logger });
    running.push(manager);
    return manager;
  };
  const managerToken = async (via: RunningManager) => {
    const client = adminControl(via.address, `${root}/admin`);
    try {
      return (await callUnary(client, (c) => c.getJoinTokens, {}, 10_000)).manager;
    } finally {
      client.close();
    }
  };
  /** A DHT node that knows only `via`: what it learns of the others, it learns from `via`'s routing table. */
  const probeThrough = async (via: RunningManager) => {
    const probe = await startDhtNode({ host: '127.0.0.4', port: 0, bootstrap: [via.gossipDht] });
    probes.push(probe);
    return probe;
  };
  const knows = (probe: HyperDHT, manager: RunningManager) => probe.toArray().some((node) => node.host === manager.gossipDht.host && node.port === manager.gossipDht.port);

  it('listen on the --listen host at the given port, and a joining manager joins the DHT of the one it joins through', async () => {
    const first = await start('m1', '127.0.0.2');
    const second = await start('m2', '127.0.0.3', first.address, await managerToken(first));
    expect(first.gossipDht).toEqual({ host: '127.0.0.2', port });
    expect(second.gossipDht).toEqual({ host: '127.0.0.3', port });
    // Through either one, a newcomer finds the other: each has the other in its routing table.
    const throughFirst = await probeThrough(first);
    await until(() => knows(throughFirst, second), 'the second manager found through the first');
    const throughSecond = await probeThrough(second);
    await until(() => knows(throughSecond, first), 'the first manager found through the second');
  }, 60_000);

  it('stop the node with the manager, freeing its port', async () => {
    const manager = await start('m1', '127.0.0.2');
    await manager.close();
    running.length = 0;
    await closeUdp(await bindUdp('127.0.0.2', port));
  }, 30_000);

  it('refuse to start a manager whose DHT port is taken, naming the flag, and leave nothing held', async () => {
    const taken = await bindUdp('127.0.0.2', port);
    try {
      await expect(start('m1', '127.0.0.2')).rejects.toThrow(new RegExp(`^--gossip-dht-port: cannot start the gossip DHT node on 127\\.0\\.0\\.2:${port}/udp: the port is taken; .*--gossip-dht-port`));
    } finally {
      await closeUdp(taken);
    }
    // Its data directory and disk log were released: the same manager starts now.
    const manager = await start('m1', '127.0.0.2');
    expect(manager.gossipDht).toEqual({ host: '127.0.0.2', port });
  }, 30_000);
});

describe('the bootstrap list of a manager', () => {
  it("is the other managers' hosts at the shared port, itself and duplicates left out", () => {
    expect(managerDhtBootstrap(['10.0.0.1:4240', '10.0.0.2:4240', '10.0.0.3:4240', '10.0.0.2:4240'], '10.0.0.1:4240', MANAGER_DHT_PORT)).toEqual([
      { host: '10.0.0.2', port: MANAGER_DHT_PORT },
      { host: '10.0.0.3', port: MANAGER_DHT_PORT },
    ]);
    // The DHT speaks IPv4: an IPv6 manager is left out; a name is resolved by the DHT.
    expect(managerDhtBootstrap(['[fd00::2]:4240', 'm3.example:4240'], '10.0.0.1:4240', 4800)).toEqual([{ host: 'm3.example', port: 4800 }]);
  });

  it('is empty for the first manager, and with any-port (0), never a public host', () => {
    expect(managerDhtBootstrap([], '10.0.0.1:4240', MANAGER_DHT_PORT)).toEqual([]);
    expect(managerDhtBootstrap(['10.0.0.1:4240'], '10.0.0.1:4240', MANAGER_DHT_PORT)).toEqual([]);
    expect(managerDhtBootstrap(['10.0.0.2:4240'], '10.0.0.1:4240', 0)).toEqual([]);
  });
});
