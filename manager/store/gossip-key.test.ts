import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { HeldView } from '../../proto/runtime/held-view';
import { compareText } from '../../proto/runtime/order';
import { concernsNode } from './journal';
import type { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

const KEY_A = 'a'.repeat(64);
const KEY_B = '0123456789abcdef'.repeat(4);

/** twoNodeStore, both nodes gossiping. */
function gossipingPair(): Store {
  const store = twoNodeStore();
  must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: KEY_A });
  must(store, { type: 'setNodeGossipKey', nodeId: 'node-b-id', publicKey: KEY_B });
  return store;
}

describe('setNodeGossipKey', () => {
  it('shows the key on the node, and clears it with an empty one', () => {
    const store = twoNodeStore();
    expect(must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: KEY_A }).gossipPublicKey).toBe(KEY_A);
    expect(store.node('node-a')?.gossipPublicKey).toBe(KEY_A);
    // A restart of the agent (registering again) keeps it until its next hello says otherwise.
    must(store, { type: 'registerNode', id: 'unused', name: 'node-a', advertiseAddr: '192.168.0.9' });
    expect(store.node('node-a')?.gossipPublicKey).toBe(KEY_A);
    must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: '' });
    expect(store.node('node-a')?.gossipPublicKey).toBe('');
    // Cleared, the record is as one that never gossiped (snapshots stay as before).
    expect(store.snapshot().nodes.find((node) => node.id === 'node-a-id')).not.toHaveProperty('gossipPublicKey');
  });

  it.each([
    ['upper-case hex', 'A'.repeat(64)],
    ['too short', 'a'.repeat(62)],
    ['too long', 'a'.repeat(66)],
    ['not hex', 'g'.repeat(64)],
    ['base64', 'q80Ukbo7o4ZyI0QGyZ7+UbZnJ2sYhBX2wEKDdxZ5c1M='],
  ])('refuses a key that is %s, naming gossip_public_key, and changes nothing', (_what, publicKey) => {
    const store = twoNodeStore();
    must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: KEY_A });
    const before = store.snapshot();
    const result = store.apply({ type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey });
    expect(result).toEqual({ ok: false, error: { code: 'INVALID_ARGUMENT', field: 'gossip_public_key', message: expect.stringContaining('64 lowercase hex characters') } });
    expect(store.snapshot()).toEqual(before);
  });

  it('refuses an unknown node with NOT_FOUND, and takes only ids', () => {
    const store = twoNodeStore();
    for (const nodeId of ['node-x-id', 'node-a']) {
      const result = store.apply({ type: 'setNodeGossipKey', nodeId, publicKey: KEY_A });
      expect(result).toEqual({ ok: false, error: { code: 'NOT_FOUND', field: 'node_id', message: expect.stringContaining(`"${nodeId}"`) } });
    }
    expect(store.revision).toBe(twoNodeStore().revision);
  });

  it('is refused by the schema when a field is missing or not a string', () => {
    const store = twoNodeStore();
    expect(store.apply(JSON.parse('{"type":"setNodeGossipKey","nodeId":"node-a-id"}'))).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', field: 'public_key' } });
    expect(store.apply(JSON.parse('{"type":"setNodeGossipKey","nodeId":7,"publicKey":""}'))).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', field: 'node_id' } });
  });

  it('changes no view when the key is the one stored', () => {
    const store = gossipingPair();
    const from = store.revision;
    must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: KEY_A });
    expect(store.revision).toBe(from + 1);
    expect(store.affectedNodesSince(from)).toEqual(new Set());
  });
});

describe('Store.gossipKeyUpdate', () => {
  it('gives the command to propose only when the hello carries another key than the one stored', () => {
    const store = twoNodeStore();
    expect(store.gossipKeyUpdate('node-a-id', '')).toBeUndefined();
    expect(store.gossipKeyUpdate('node-a-id', KEY_A)).toEqual({ type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: KEY_A });
    must(store, store.gossipKeyUpdate('node-a-id', KEY_A) ?? fail('no command'));
    expect(store.gossipKeyUpdate('node-a-id', KEY_A)).toBeUndefined();
    expect(store.gossipKeyUpdate('node-a-id', '')).toEqual({ type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: '' });
    // An unknown node has no key: proposing one is refused (NOT_FOUND).
    expect(store.gossipKeyUpdate('nope', '')).toBeUndefined();
  });
});

describe('Store.leftToGossip', () => {
  it('holds for two different nodes that both gossip', () => {
    const store = twoNodeStore();
    must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: KEY_A });
    expect(store.leftToGossip('node-a-id', 'node-b-id')).toBe(false);
    must(store, { type: 'setNodeGossipKey', nodeId: 'node-b-id', publicKey: KEY_B });
    expect([store.leftToGossip('node-a-id', 'node-b-id'), store.leftToGossip('node-b-id', 'node-a-id'), store.leftToGossip('node-a-id', 'node-a-id')]).toEqual([true, true, false]);
  });
});

describe('views when a gossip key is set or cleared', () => {
  /** Applies `command`, gives every node its delta as the dispatcher does, and returns the delta to each node that got one. */
  function step(store: Store, held: Map<string, HeldView>, apply: () => void): Map<string, ReturnType<Store['viewDelta']>> {
    const from = store.revision;
    apply();
    const changes = store.changesSince(from) ?? fail('journal too short');
    const sent = new Map<string, ReturnType<Store['viewDelta']>>();
    for (const [nodeId, view] of held) {
      if (!concernsNode(changes, nodeId)) continue;
      const delta = store.viewDelta(nodeId, from, changes);
      sent.set(nodeId, delta);
      view.applyDelta(delta);
      expect(sorted(view.view())).toEqual(sorted({ ...store.nodeView(nodeId), revision: view.revision }));
    }
    return sent;
  }
  function heldViews(store: Store): Map<string, HeldView> {
    return new Map(
      store.nodes().map((node) => {
        const held = new HeldView();
        held.applyChunk({ part: store.nodeView(node.id), first: true, last: true });
        return [node.id, held];
      }),
    );
  }

  it('moves a peer between endpoints and members, both ways, for the node and its peer', () => {
    const store = twoNodeStore();
    must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: KEY_A });
    const held = heldViews(store);
    let sent = step(store, held, () => must(store, { type: 'setNodeGossipKey', nodeId: 'node-b-id', publicKey: KEY_B }));
    expect(sent.get('node-a-id')).toMatchObject({ removedEndpointIds: ['ep-db-front'], members: [{ networkId: 'front-id', nodeId: 'node-b-id', publicKey: KEY_B, vtep: '192.168.0.2' }] });
    expect(sent.get('node-b-id')).toMatchObject({ removedEndpointIds: ['ep-web-front'], members: [{ networkId: 'front-id', nodeId: 'node-a-id', publicKey: KEY_A }] });

    sent = step(store, held, () => must(store, { type: 'setNodeGossipKey', nodeId: 'node-a-id', publicKey: '' }));
    expect(sent.get('node-a-id')).toMatchObject({ removedEndpointIds: [], removedMembers: [{ networkId: 'front-id', nodeId: 'node-b-id' }] });
    expect(sent.get('node-a-id')?.endpoints.map((endpoint) => endpoint.id)).toContain('ep-db-front');
    expect(sent.get('node-b-id')).toMatchObject({ endpoints: [expect.objectContaining({ id: 'ep-web-front' })], removedMembers: [{ networkId: 'front-id', nodeId: 'node-a-id' }] });
  });

  it("sends members a peer's new address as the member's vtep, and its new key", () => {
    const store = gossipingPair();
    const held = heldViews(store);
    let sent = step(store, held, () => must(store, { type: 'registerNode', id: 'unused', name: 'node-b', advertiseAddr: '192.168.0.22' }));
    expect(sent.get('node-a-id')).toMatchObject({ endpoints: [], members: [{ nodeId: 'node-b-id', vtep: '192.168.0.22' }] });
    sent = step(store, held, () => must(store, { type: 'setNodeGossipKey', nodeId: 'node-b-id', publicKey: 'c'.repeat(64) }));
    expect(sent.get('node-a-id')).toMatchObject({ endpoints: [], removedEndpointIds: [], members: [{ nodeId: 'node-b-id', publicKey: 'c'.repeat(64) }] });
  });

  it("does not wake a gossiping peer for a gossiping owner's endpoint writes, only when the owner comes to or leaves the network", () => {
    const store = gossipingPair();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-c' });
    must(store, { type: 'connect', endpointId: 'ep-cache-front', network: 'front', sandbox: 'cache', aliases: [] });
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-b' });
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    const held = heldViews(store);
    // node-b's second endpoint on front: gossip brings it to node-a; node-c, which does not gossip, gets it from the managers.
    let sent = step(store, held, () => must(store, { type: 'connect', endpointId: 'ep-api-front', network: 'front', sandbox: 'api', aliases: [] }));
    expect([...sent.keys()].sort()).toEqual(['node-b-id', 'node-c-id']);
    sent = step(store, held, () => must(store, { type: 'disconnect', network: 'front', sandbox: 'api' }));
    expect([...sent.keys()].sort()).toEqual(['node-b-id', 'node-c-id']);
    // node-b comes to back, where node-a is: node-a's members change.
    step(store, held, () => must(store, { type: 'connect', endpointId: 'ep-web-back', network: 'back', sandbox: 'web', aliases: [] }));
    sent = step(store, held, () => must(store, { type: 'connect', endpointId: 'ep-api-back', network: 'back', sandbox: 'api', aliases: [] }));
    expect(sent.get('node-a-id')).toMatchObject({ endpoints: [], members: [{ networkId: 'back-id', nodeId: 'node-b-id' }] });
    sent = step(store, held, () => must(store, { type: 'disconnect', network: 'back', sandbox: 'api' }));
    expect(sent.get('node-a-id')).toMatchObject({ endpoints: [], removedEndpointIds: ['ep-api-back'], removedMembers: [{ networkId: 'back-id', nodeId: 'node-b-id' }] });
  });
});

/** Endpoints by id: a held view keeps them in the order they came. */
function sorted(view: NodeView): NodeView {
  return { ...view, endpoints: [...view.endpoints].sort((a, b) => compareText(a.id, b.id)) };
}

function fail(message: string): never {
  throw new Error(message);
}
