import type { ChannelCredentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import pino from 'pino';
import type HyperDHT from 'hyperdht';
import { ConnectNetworkRequest, CreateNetworkRequest, type ControlClient } from '../../proto/gen/trellis/v1/control';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { dhtNodeAddress, type DhtAddress } from '../../proto/runtime/dht/dht-node';
import { callUnary } from '../../proto/runtime/unary-call';
import { joinedNodeCredentials } from '../../manager/cluster-clients';
import { TestManager } from '../../manager/test-manager';
import { everyServiceOf, ManagerSession } from '../session/manager-session';
import { AgentGossip } from './agent-gossip';
import { startHyperswarmTransport, type HyperswarmTransport } from './hyperswarm-transport';
import { CLUSTER_ID, scratchDir, startBootstrap, until } from './test-swarm';

/*
 * The agent's gossip wiring against a real manager: gossiping nodes a and b (and c, which does not
 * gossip) each run the agent's own ManagerSession and AgentGossip, over the real hyperswarm
 * transport on loopback (a local DHT, ports 0). No kernel: a node takes each composed view as
 * programmed at once and reports it (member digests included), as a converged agent does. What is
 * asserted is the composed view, the one the reconciler, DNS and balancing would program.
 */

const TIMEOUT_MS = 10_000;

class Node {
  /** Every view the managers sent (the slim one, for a gossiping node). */
  readonly held: NodeView[] = [];
  /** Every view offered to the converge loop (composed, for a gossiping node). */
  readonly offered: NodeView[] = [];
  session!: ManagerSession;
  gossip: AgentGossip | undefined;
  transport: HyperswarmTransport | undefined;
  /** Times this node asked the managers for a member's entries (gossip disagreed with their digest). */
  fallbacks = 0;

  constructor(readonly name: string) {}

  async start(address: string, credentials: ChannelCredentials, stateDir: string, bootstrap: readonly DhtAddress[] | undefined): Promise<void> {
    if (bootstrap) {
      this.transport = await startHyperswarmTransport({
        stateDir,
        clusterId: CLUSTER_ID,
        dht: { host: '127.0.0.1', port: 0, bootstrap },
        log: pino({ level: 'silent' }),
      });
      this.gossip = new AgentGossip({
        transport: this.transport,
        epoch: 1,
        askManager: (networkId, ownerNodeId) => this.session.requestMemberEntries(networkId, ownerNodeId),
        offer: (view) => this.programmed(view),
        readinessChanged: () => undefined,
        metrics: {
          entries: () => undefined,
          digestMismatch: () => undefined,
          fallback: () => void this.fallbacks++,
          syncBytes: () => undefined,
          rejected: () => undefined,
          members: () => undefined,
          propagated: () => undefined,
        },
        logger: pino({ level: 'silent' }),
      });
    }
    const gossip = this.gossip;
    this.session = new ManagerSession({
      managers: [address],
      credentials,
      nodeName: this.name,
      advertiseAddr: `198.18.0.${this.name.charCodeAt(0) - 96}`,
      gatewaySubnet: '',
      reservedPorts: [],
      logger: pino({ level: 'silent' }),
      gossipPublicKey: this.transport?.publicKey,
      onView: (view) => {
        this.held.push(view);
        if (gossip) gossip.viewArrived(view);
        else this.programmed(view);
      },
      onTrust: () => undefined,
      onReadiness: (ready) => gossip?.readinessArrived(ready),
      onMemberDigests: (digests) => gossip?.digestsArrived(digests),
      onMemberEntries: (entries) => gossip?.entriesArrived(entries),
    });
    this.session.start();
  }

  /** A converged agent: the kernel holds the view at once, and the managers are told. */
  private programmed(view: NodeView): void {
    this.offered.push(view);
    this.gossip?.converged(view, []);
    this.session.reportProgrammed(view, [], everyServiceOf(view), this.gossip?.programmedMembers(view));
  }

  /** The endpoints of the last view offered. */
  endpoints(): string[] {
    return (this.offered[this.offered.length - 1]?.endpoints ?? []).map((endpoint) => endpoint.id).sort();
  }

  heldEndpoints(): string[] {
    return (this.held[this.held.length - 1]?.endpoints ?? []).map((endpoint) => endpoint.id).sort();
  }

  ready(): ReadonlySet<string> {
    return this.gossip?.readyEndpoints() ?? this.session.readyEndpoints();
  }

  async stop(): Promise<void> {
    this.session.stop();
    await this.gossip?.stop();
  }
}

describe('gossip wired to a real manager (loopback hyperswarm, no kernel)', () => {
  const scratch = scratchDir();
  let manager: TestManager;
  let control: ControlClient;
  const bootstraps: HyperDHT[] = [];
  const nodes = { a: new Node('a'), b: new Node('b'), c: new Node('c') };
  const endpoint: Record<string, string> = {};
  const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

  beforeAll(async () => {
    manager = await TestManager.start('trellis-wired-gossip-');
    control = manager.admin();
    // The manager's DHT node, and two more: hyperswarm is unreliable on a DHT of very few nodes.
    for (let i = 0; i < 2; i++) bootstraps.push(await startBootstrap([manager.manager.gossipDht, ...bootstraps.map(dhtNodeAddress)]));
    // A manager's certificate may act for any node.
    const credentials = await joinedNodeCredentials(manager.manager.address, manager.adminDir, 'manager');
    const bootstrap = [manager.manager.gossipDht, ...bootstraps.map(dhtNodeAddress)];
    await nodes.a.start(manager.manager.address, credentials, join(scratch.path, 'a'), bootstrap);
    await nodes.b.start(manager.manager.address, credentials, join(scratch.path, 'b'), bootstrap);
    await nodes.c.start(manager.manager.address, credentials, join(scratch.path, 'c'), undefined);
    await until(() => Object.values(nodes).every((node) => node.offered.length > 0), 'a, b and c in session');

    await callUnary(control, (api) => api.createNetwork, CreateNetworkRequest.fromPartial({ name: 'blue', subnet: '10.40.0.0/24' }), TIMEOUT_MS);
    for (const name of ['a', 'b', 'c']) {
      await callUnary(control, (api) => api.createSandbox, { name: `s-${name}`, node: name, netns: '', networkMode: '', netnsFrom: '' }, TIMEOUT_MS);
      endpoint[name] = (await callUnary(control, (api) => api.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: `s-${name}` }), TIMEOUT_MS)).id;
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled(Object.values(nodes).map((node) => node.stop()));
    await Promise.allSettled(bootstraps.map((node) => node.destroy()));
    await manager.close();
    scratch.remove();
  }, 60_000);

  it("gives b a's endpoint through gossip, not through b's view, and every endpoint ready once the leader says so", async () => {
    const all = sorted(Object.values(endpoint));
    await until(() => nodes.b.endpoints().join() === all.join(), "b's composed view holding every endpoint");
    // b's view from the managers holds its own endpoint and c's (c does not gossip), not a's.
    expect(nodes.b.heldEndpoints()).toEqual(sorted([endpoint.b ?? '', endpoint.c ?? '']));
    const fromGossip = nodes.b.offered[nodes.b.offered.length - 1]?.endpoints.find((entry) => entry.id === endpoint.a);
    expect(fromGossip).toMatchObject({ nodeId: nodes.a.held[0]?.nodeId, vtep: '198.18.0.1', networkId: nodes.b.held[nodes.b.held.length - 1]?.networks[0]?.id });
    // c, which does not gossip, has every endpoint from the managers.
    await until(() => nodes.c.heldEndpoints().join() === all.join(), "c's view holding every endpoint");

    await until(() => all.every((id) => nodes.b.ready().has(id)), 'every endpoint ready on b');
    await until(() => all.every((id) => nodes.a.ready().has(id)), 'every endpoint ready on a');
    await until(() => all.every((id) => nodes.c.ready().has(id)), 'every endpoint ready on c');
  }, 60_000);

  it("drops a's endpoint from b's composed view when it is deleted", async () => {
    await callUnary(control, (api) => api.removeSandbox, { sandbox: 's-a' }, TIMEOUT_MS);
    await until(() => !nodes.b.endpoints().includes(endpoint.a ?? ''), "a's endpoint gone from b's composed view");
    expect(nodes.b.endpoints()).toEqual(sorted([endpoint.b ?? '', endpoint.c ?? '']));

    await callUnary(control, (api) => api.createSandbox, { name: 's-a2', node: 'a', netns: '', networkMode: '', netnsFrom: '' }, TIMEOUT_MS);
    endpoint.a = (await callUnary(control, (api) => api.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: 's-a2' }), TIMEOUT_MS)).id;
    await until(() => nodes.b.endpoints().includes(endpoint.a ?? ''), "a's new endpoint on b");
    await until(() => nodes.b.ready().has(endpoint.a ?? ''), "a's new endpoint ready on b");
  }, 60_000);

  it("drops an endpoint its owner still gossips once the managers deleted it (a cut off from them): the leader's digest and the fallback win", async () => {
    const transport = nodes.b.transport ?? fail('b gossips');
    const aId = nodes.a.held[0]?.nodeId ?? fail('a has a node id');
    // a keeps hosting blue (s-a3) after s-a2 goes, so it stays b's fellow member.
    await callUnary(control, (api) => api.createSandbox, { name: 's-a3', node: 'a', netns: '', networkMode: '', netnsFrom: '' }, TIMEOUT_MS);
    const kept = (await callUnary(control, (api) => api.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: 's-a3' }), TIMEOUT_MS)).id;
    await until(() => nodes.b.endpoints().includes(kept) && transport.linkedNodeIds().includes(aId), "b holding a's second endpoint, linked to a");
    // a's agent loses its managers but keeps gossiping the endpoints it held.
    nodes.a.session.stop();
    const fallbacks = nodes.b.fallbacks;
    await callUnary(control, (api) => api.removeSandbox, { sandbox: 's-a2' }, TIMEOUT_MS);
    await until(() => !nodes.b.endpoints().includes(endpoint.a ?? ''), "a's deleted endpoint gone from b's composed view", 30_000);
    expect(nodes.b.endpoints()).toEqual(sorted([kept, endpoint.b ?? '', endpoint.c ?? '']));
    expect(nodes.b.fallbacks).toBeGreaterThan(fallbacks);
    expect(transport.linkedNodeIds()).toContain(aId);
    endpoint.a = kept;
  }, 60_000);

  it('cuts the link to a node once it shares no network, and `trellis node rm` (which needs its sandboxes gone) keeps it out', async () => {
    const transport = nodes.b.transport ?? fail('b gossips');
    const aId = nodes.a.held[0]?.nodeId ?? fail('a has a node id');
    await callUnary(control, (api) => api.removeSandbox, { sandbox: 's-a3' }, TIMEOUT_MS);
    await until(() => !transport.linkedNodeIds().includes(aId), 'the link from b to a cut');
    expect(nodes.b.endpoints()).toEqual(sorted([endpoint.b ?? '', endpoint.c ?? '']));
    expect(nodes.b.gossip?.programmedMembers(nodes.b.offered[nodes.b.offered.length - 1] ?? fail('b offered a view'))).toEqual([]);
    await callUnary(control, (api) => api.removeNode, { node: 'a', force: true }, TIMEOUT_MS);
    // a still lists b as a member (it has heard nothing since) and dials it: b's firewall refuses it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(transport.linkedNodeIds()).not.toContain(aId);
    expect(nodes.b.endpoints()).toEqual(sorted([endpoint.b ?? '', endpoint.c ?? '']));
  }, 60_000);
});
