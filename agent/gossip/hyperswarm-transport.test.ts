import { join } from 'node:path';
import type HyperDHT from 'hyperdht';
import { dhtNodeAddress } from '../../proto/runtime/dht/dht-node';
import { TestAgent, scratchDir, sleep, startBootstrap, until } from './test-swarm';

/*
 * The hyperswarm transport for real, on loopback: three managers' bootstrap nodes and five agents,
 * each agent with its own persistent DHT node. Deadlines are generous (a loaded 2-core machine);
 * the times measured are printed, never asserted.
 */
const NETWORK = 'network-1';
const SMALL_BOUND = 64 * 1024;

describe('hyperswarm gossip transport (loopback)', () => {
  const scratch = scratchDir();
  const bootstraps: HyperDHT[] = [];
  const agents: TestAgent[] = [];
  const outsiders: TestAgent[] = [];
  const ids = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
  const members = () => agents.map((agent) => agent.member());

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) bootstraps.push(await startBootstrap(bootstraps.map(dhtNodeAddress)));
    const bootstrap = bootstraps.map(dhtNodeAddress);
    // node-a takes at most 64 KiB a message: the oversized-frame test sends it more.
    for (const [i, id] of ids.entries()) agents.push(new TestAgent(id, join(scratch.path, id), i === 0 ? SMALL_BOUND : undefined));
    await Promise.all(agents.map((agent) => agent.start(bootstrap)));
    for (const agent of agents) agent.transport.setMembers(members());
    const started = Date.now();
    await Promise.all(agents.map((agent) => agent.transport.join(NETWORK)));
    await until(() => agents.every((agent) => agent.linkedTo(ids)), 'every agent linked to the four others');
    process.stdout.write(`gossip transport: 5 agents fully linked ${Date.now() - started} ms after join()\n`);
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled([...agents, ...outsiders].map((agent) => agent.transport?.close()));
    await Promise.allSettled(bootstraps.map((node) => node.destroy()));
    scratch.remove();
  }, 60_000);

  it('carries messages between every pair of members, both ways, once each', async () => {
    for (const agent of agents) for (const other of agents) if (other !== agent) expect(agent.transport.send(other.nodeId, Buffer.from(`hello ${other.nodeId} from ${agent.nodeId}`))).toBe(true);
    await until(() => agents.every((agent) => ids.every((from) => from === agent.nodeId || agent.heardFrom(from, `hello ${agent.nodeId} from ${from}`))), 'every greeting delivered');
    await sleep(200);
    for (const agent of agents) expect(agent.messages.filter((message) => message.text.startsWith('hello '))).toHaveLength(4);
    expect(agents[1]?.metrics.sent).toBeGreaterThan(0);
    expect(agents[1]?.metrics.received).toBeGreaterThan(0);
  });

  it('refuses a peer whose key is no member: it never gets a link and delivers nothing', async () => {
    const outsider = new TestAgent('node-x', join(scratch.path, 'node-x'));
    outsiders.push(outsider);
    await outsider.start(bootstraps.map(dhtNodeAddress));
    // It knows the members' keys and the topic, and dials them all; none lists its key.
    outsider.transport.setMembers([...members(), outsider.member()]);
    await outsider.transport.join(NETWORK);
    await until(() => agents.some((agent) => agent.metrics.refused.has(outsider.transport.publicKey)), "a member's firewall refusing the outsider's key");
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      for (const id of ids) expect(outsider.transport.send(id, Buffer.from('injected'))).toBe(false);
      await sleep(100);
    }
    expect(outsider.peerEvents).toEqual([]);
    for (const agent of agents) {
      expect(agent.messages.filter((message) => message.text === 'injected')).toEqual([]);
      expect(agent.peerEvents.filter((event) => !ids.includes(event.nodeId))).toEqual([]);
    }
    await outsider.transport.close();
  });

  it('cuts a node removed from the members at once, keeps it out, and lets it back when it is a member again', async () => {
    const removed = agents[4] as TestAgent;
    const staying = agents.slice(0, 4);
    const stayingIds = staying.map((agent) => agent.nodeId);
    const eventsBefore = removed.peerEvents.length;
    const at = Date.now();
    for (const agent of staying) agent.transport.setMembers(staying.map((other) => other.member()));
    for (const agent of staying) expect(agent.transport.linkedNodeIds()).not.toContain(removed.nodeId);
    const downs = () => removed.peerEvents.slice(eventsBefore).filter((event) => !event.connected);
    await until(() => downs().length >= 4, 'the removed node seeing its four links go down', 5_000);
    const cutMs = Math.max(...downs().map((event) => event.at)) - at;
    process.stdout.write(`gossip transport: removed node disconnected from all 4 members ${cutMs} ms after setMembers\n`);

    // It keeps dialing (it still lists them) for a few retry rounds: every attempt is refused.
    const deadline = Date.now() + 4_000;
    while (Date.now() < deadline) {
      for (const id of stayingIds) expect(removed.transport.send(id, Buffer.from('after removal'))).toBe(false);
      await sleep(100);
    }
    expect(removed.transport.linkedNodeIds()).toEqual([]);
    expect(staying.every((agent) => agent.messages.every((message) => message.text !== 'after removal'))).toBe(true);
    expect(staying.some((agent) => agent.metrics.refused.has(removed.transport.publicKey))).toBe(true);

    for (const agent of staying) agent.transport.setMembers(members());
    await until(() => removed.linkedTo(ids) && staying.every((agent) => agent.linkedTo(ids)), 'the node linked again once it is a member again');
    expect(removed.transport.send('node-a', Buffer.from('back again'))).toBe(true);
    await until(() => (agents[0] as TestAgent).heardFrom(removed.nodeId, 'back again'), 'a message from the readmitted node');
  });

  it('closes the link to a member that sends a message above the bound, delivering none of it', async () => {
    const bounded = agents[0] as TestAgent;
    const sender = agents[1] as TestAgent;
    await until(() => bounded.linkedTo([sender.nodeId]), 'the two linked');
    const eventsBefore = bounded.peerEvents.length;
    expect(sender.transport.send(bounded.nodeId, Buffer.alloc(SMALL_BOUND + 1, 7))).toBe(true);
    await until(() => bounded.metrics.framesRefused.length > 0, 'the oversized frame refused', 10_000);
    expect(bounded.metrics.framesRefused).toEqual([{ nodeId: sender.nodeId, length: SMALL_BOUND + 1 }]);
    expect(bounded.peerEvents.slice(eventsBefore)).toContainEqual(expect.objectContaining({ nodeId: sender.nodeId, connected: false }));
    expect(bounded.messages.filter((message) => message.text.startsWith('\x07'))).toEqual([]);
    // A message at the bound is fine, once the member has reconnected.
    await until(() => bounded.linkedTo([sender.nodeId]) && sender.linkedTo([bounded.nodeId]), 'the member reconnected');
    await until(() => {
      sender.transport.send(bounded.nodeId, Buffer.alloc(SMALL_BOUND, 8));
      return bounded.messages.some((message) => message.text.length === SMALL_BOUND);
    }, 'a message of exactly the bound delivered');
  });

  it('with every manager bootstrap node down, a restarted agent finds its peers again through their own DHT nodes', async () => {
    const restarted = agents[4] as TestAgent;
    const managers = bootstraps.map(dhtNodeAddress);
    await Promise.all(bootstraps.splice(0).map((node) => node.destroy()));
    await restarted.transport.close();
    const again = new TestAgent(restarted.nodeId, restarted.stateDir);
    agents[4] = again;
    const started = Date.now();
    // Given only the managers, all down: the agents it knew come from its state directory.
    await again.start(managers);
    expect(again.transport.publicKey).toBe(restarted.transport.publicKey);
    again.transport.setMembers(members());
    await again.transport.join(NETWORK);
    await until(() => again.linkedTo(ids) && agents.every((agent) => agent.linkedTo(ids)), 'the restarted agent linked to the four others', 45_000);
    process.stdout.write(`gossip transport: with every bootstrap node down, the restarted agent linked to all 4 peers ${Date.now() - started} ms after starting\n`);
    for (const agent of agents.slice(0, 4)) expect(again.transport.send(agent.nodeId, Buffer.from('from the restarted'))).toBe(true);
    for (const agent of agents.slice(0, 4)) expect(agent.transport.send(again.nodeId, Buffer.from(`to the restarted from ${agent.nodeId}`))).toBe(true);
    await until(
      () => agents.slice(0, 4).every((agent) => agent.heardFrom(again.nodeId, 'from the restarted') && again.heardFrom(agent.nodeId, `to the restarted from ${agent.nodeId}`)),
      'messages both ways with the restarted agent',
    );
  }, 90_000);
});
