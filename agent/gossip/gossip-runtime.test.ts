import { join } from 'node:path';
import pino from 'pino';
import type HyperDHT from 'hyperdht';
import { dhtNodeAddress } from '../../proto/runtime/dht/dht-node';
import { startGossipRuntime, type GossipRuntime } from './gossip-runtime';
import { CLUSTER_ID, scratchDir, startBootstrap, until } from './test-swarm';

/*
 * The agent's gossip runtime as the agent starts it: given the managers' API addresses, not DHT
 * addresses. A manager's bootstrap node on 127.0.0.1 and two agents advertising 127.0.0.2 and
 * 127.0.0.3 (real hyperswarm, loopback only, any free port for each agent's node).
 */
describe('the agent gossip runtime', () => {
  const scratch = scratchDir();
  let manager: HyperDHT;
  const runtimes: GossipRuntime[] = [];
  const received: { to: string; from: string; text: string }[] = [];

  beforeAll(async () => {
    manager = await startBootstrap([]);
  });
  afterAll(async () => {
    await Promise.allSettled(runtimes.map((runtime) => runtime.stop()));
    await manager.destroy();
    scratch.remove();
  }, 60_000);

  const start = async (nodeId: string, advertiseAddr: string) => {
    const runtime = await startGossipRuntime({
      stateDir: join(scratch.path, nodeId),
      clusterId: CLUSTER_ID,
      // The manager's gRPC address as the agent's --manager gives it; its DHT node is on the same host at the managers' DHT port.
      managers: ['127.0.0.1:4240'],
      managerDhtPort: dhtNodeAddress(manager).port,
      advertiseAddr,
      dhtPort: 0,
      log: pino({ level: 'silent' }),
    });
    runtimes.push(runtime);
    runtime.transport.onMessage((from, message) => received.push({ to: nodeId, from, text: Buffer.from(message).toString() }));
    return runtime;
  };

  it("binds each agent's DHT node on its advertise address, joins it through the manager, and carries messages between members", async () => {
    const a = await start('node-a', '127.0.0.2');
    const b = await start('node-b', '127.0.0.3');
    expect(a.transport.dhtAddress().host).toBe('127.0.0.2');
    expect(b.transport.dhtAddress().host).toBe('127.0.0.3');
    const members = [
      { nodeId: 'node-a', publicKey: a.transport.publicKey },
      { nodeId: 'node-b', publicKey: b.transport.publicKey },
    ];
    for (const runtime of [a, b]) {
      runtime.transport.setMembers(members);
      await runtime.transport.join('network-1');
    }
    await until(() => a.transport.linkedNodeIds().includes('node-b') && b.transport.linkedNodeIds().includes('node-a'), 'the two agents linked');
    expect(a.transport.send('node-b', Buffer.from('hello b'))).toBe(true);
    expect(b.transport.send('node-a', Buffer.from('hello a'))).toBe(true);
    await until(() => received.length >= 2, 'both greetings delivered');
    expect(received).toEqual(expect.arrayContaining([{ to: 'node-b', from: 'node-a', text: 'hello b' }, { to: 'node-a', from: 'node-b', text: 'hello a' }]));
    // The manager's node knows both agents' nodes: they joined the DHT through it.
    expect(manager.toArray()).toEqual(expect.arrayContaining([a.transport.dhtAddress(), b.transport.dhtAddress()]));
  }, 60_000);

  it('stops: the links go down and the node leaves', async () => {
    const [a, b] = runtimes as [GossipRuntime, GossipRuntime];
    await a.stop();
    await until(() => !b.transport.linkedNodeIds().includes('node-a'), "node-a's link gone from node-b");
    expect(a.transport.send('node-b', Buffer.from('after stop'))).toBe(false);
  }, 30_000);
});
