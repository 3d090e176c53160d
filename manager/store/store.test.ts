import { NodeStatus, type Endpoint, type Network, type Node, type Sandbox } from '../../proto/gen/trellis/v1/types';
import type { Command } from './commands';
import type { StoreSnapshot } from './state';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

describe('networks', () => {
  it('fills in overlay, the first usable gateway and the lowest free VNI', () => {
    const store = new Store();
    const network: Network = must(store, { type: 'createNetwork', id: 'n1', name: 'front', driver: '', subnet: '10.0.1.0/24' });
    expect(network).toEqual({
      id: 'n1',
      name: 'front',
      driver: 'overlay',
      subnet: '10.0.1.0/24',
      gateway: '10.0.1.1',
      ipRange: '',
      vni: 4096,
      endpoints: [],
      createdRevision: 1,
      ipam: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1', ipRange: '', auxAddresses: {} }],
      internal: false,
      attachable: false,
      mtu: 0,
      labels: {},
      node: '',
      parent: '',
      options: {},
    });
    expect(store.revision).toBe(1);
    expect(store.network('front')).toEqual(network);
    expect(store.network('n1')).toEqual(network);
  });

  it('reuses the VNI of a removed network', () => {
    const store = new Store();
    must(store, { type: 'createNetwork', id: 'n1', name: 'a', driver: 'overlay', subnet: '10.0.1.0/24' });
    must(store, { type: 'createNetwork', id: 'n2', name: 'b', driver: 'overlay', subnet: '10.0.2.0/24' });
    expect(must(store, { type: 'removeNetwork', network: 'a' }).vni).toBe(4096);
    expect(must(store, { type: 'createNetwork', id: 'n3', name: 'c', driver: '', subnet: '10.0.3.0/24' }).vni).toBe(4096);
    expect(store.networks().map((network) => [network.name, network.vni])).toEqual([['b', 4097], ['c', 4096]]);
    expect(store.network('a')).toBeUndefined();
  });

  it('finds by exact id before name', () => {
    const store = new Store();
    must(store, { type: 'createNetwork', id: 'shared', name: 'first', driver: '', subnet: '10.0.1.0/24' });
    must(store, { type: 'createNetwork', id: 'n2', name: 'shared', driver: '', subnet: '10.0.2.0/24' });
    expect(store.network('shared')?.name).toBe('first');
  });

  it('hands out addresses from the ip_range, around a custom gateway', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'b', name: 'back', driver: '', subnet: '10.0.2.0/24', gateway: '10.0.2.200', ipRange: '10.0.2.200/29' });
    const web = must(store, { type: 'connect', endpointId: 'e1', network: 'back', sandbox: 'web', aliases: [] });
    const db = must(store, { type: 'connect', endpointId: 'e2', network: 'back', sandbox: 'db', aliases: [] });
    expect([web.ip, db.ip]).toEqual(['10.0.2.201', '10.0.2.202']);
  });

  it('never hands out the network address, even when the ip_range starts there', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'b', name: 'back', driver: '', subnet: '10.0.2.0/24', gateway: '10.0.2.254', ipRange: '10.0.2.0/28' });
    expect(must(store, { type: 'connect', endpointId: 'e1', network: 'back', sandbox: 'web', aliases: [] }).ip).toBe('10.0.2.1');
  });

  it('can be removed once every sandbox has left it', () => {
    const store = twoNodeStore();
    must(store, { type: 'disconnect', network: 'front', sandbox: 'web' });
    must(store, { type: 'disconnect', network: 'front-id', sandbox: 'db-id-0123456789' });
    expect(must(store, { type: 'removeNetwork', network: 'front' }).name).toBe('front');
    expect(store.networks()).toEqual([]);
  });
});

describe('connect and disconnect', () => {
  it('gives the endpoint an address, a Docker-style MAC and eth0', () => {
    const store = twoNodeStore();
    const web: Endpoint | undefined = store.sandbox('web')?.endpoints[0];
    expect(web).toEqual({
      id: 'ep-web-front',
      networkId: 'front-id',
      networkName: 'front',
      sandboxId: 'web-id-0123456789',
      sandboxName: 'web',
      node: 'node-a',
      ip: '10.0.1.2',
      prefixLength: 24,
      mac: '02:42:0a:00:01:02',
      aliases: ['www'],
      interfaceName: 'eth0',
      hostname: 'web',
      extraHosts: [],
      dns: [],
      serviceId: '',
      serviceName: '',
      // Sixth write of the fixture; readiness is the API's to fill in.
      createdRevision: 6,
      ready: false,
      publishedPorts: [],
      draining: false,
      drainEndsAt: '',
      publishAll: false,
      exposedPorts: [],
    });
    expect(store.network('front')?.endpoints.map((endpoint) => [endpoint.sandboxName, endpoint.ip])).toEqual([
      ['web', '10.0.1.2'],
      ['db', '10.0.1.3'],
    ]);
  });

  it('numbers interfaces per sandbox, filling gaps', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'b', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'createNetwork', id: 'c', name: 'mgmt', driver: '', subnet: '10.0.3.0/24' });
    expect(must(store, { type: 'connect', endpointId: 'e1', network: 'back', sandbox: 'web', aliases: [] }).interfaceName).toBe('eth1');
    must(store, { type: 'disconnect', network: 'front', sandbox: 'web' });
    expect(must(store, { type: 'connect', endpointId: 'e2', network: 'mgmt', sandbox: 'web', aliases: [] }).interfaceName).toBe('eth0');
    expect(store.sandbox('web')?.endpoints.map((endpoint) => `${endpoint.interfaceName}:${endpoint.networkName}`)).toEqual([
      'eth0:mgmt',
      'eth1:back',
    ]);
  });

  it('keeps static addresses out of the dynamic pool, and frees addresses on disconnect', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-b' });
    must(store, { type: 'createSandbox', id: 'queue-id-0123456789', name: 'queue', node: 'node-b' });
    expect(must(store, { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'cache', ip: '10.0.1.4', aliases: [] }).ip).toBe('10.0.1.4');
    expect(must(store, { type: 'connect', endpointId: 'e2', network: 'front', sandbox: 'queue', ip: '', aliases: [] }).ip).toBe('10.0.1.5');
    expect(must(store, { type: 'disconnect', network: 'front', sandbox: 'web' }).ip).toBe('10.0.1.2');
    must(store, { type: 'disconnect', network: 'front', sandbox: 'queue' });
    expect(must(store, { type: 'connect', endpointId: 'e3', network: 'front', sandbox: 'queue', aliases: [] }).ip).toBe('10.0.1.2');
  });
});

describe('sandboxes', () => {
  it('names its namespace after the first 10 characters of its id', () => {
    const sandbox: Sandbox | undefined = twoNodeStore().sandbox('web');
    expect(sandbox).toMatchObject({ node: 'node-a', netns: '/run/netns/trsb-web-id-012', createdRevision: 4 });
  });

  it('leaves every network when removed, freeing its addresses', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'b', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'connect', endpointId: 'e1', network: 'back', sandbox: 'web', aliases: [] });

    const removed = must(store, { type: 'removeSandbox', sandbox: 'web' });

    expect(removed.endpoints.map((endpoint) => endpoint.networkName)).toEqual(['front', 'back']);
    expect(store.sandbox('web')).toBeUndefined();
    expect(store.network('front')?.endpoints.map((endpoint) => endpoint.sandboxName)).toEqual(['db']);
    must(store, { type: 'removeNetwork', network: 'back' });
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    expect(must(store, { type: 'connect', endpointId: 'e2', network: 'front', sandbox: 'cache', aliases: [] }).ip).toBe('10.0.1.2');
  });

  it('adopts a namespace by path: shown as adopted, and its node is told the path', () => {
    const store = twoNodeStore();
    const adopted = must(store, { type: 'createSandbox', id: 'cni-id-0123456789', name: 'pod', node: 'node-a', netns: '/run/netns/cni-7f3a' });

    expect(adopted).toMatchObject({ netns: '/run/netns/cni-7f3a', adopted: true });
    expect(store.sandbox('web')).toMatchObject({ netns: '/run/netns/trsb-web-id-012', adopted: false });
    expect(store.nodeView('node-a-id').sandboxes).toEqual([
      { id: 'cni-id-0123456789', name: 'pod', netnsName: 'trsb-cni-id-012', netnsPath: '/run/netns/cni-7f3a', networkMode: '', sharesNetns: false },
      { id: 'web-id-0123456789', name: 'web', netnsName: 'trsb-web-id-012', netnsPath: '', networkMode: '', sharesNetns: false },
    ]);
  });

  it('frees an adopted path when its sandbox is removed', () => {
    const store = twoNodeStore();
    const adopt = { type: 'createSandbox', id: 'runc-id-0123456789', name: 'job', node: 'node-b', netns: '/proc/4242/ns/net' } as const;
    must(store, adopt);
    must(store, { type: 'removeSandbox', sandbox: 'job' });

    expect(must(store, { ...adopt, id: 'runc-id-9876543210' })).toMatchObject({ netns: '/proc/4242/ns/net', adopted: true });
  });
});

describe('nodes', () => {
  it('lists nodes without liveness, which is the dispatcher’s to add', () => {
    const nodes: Node[] = twoNodeStore().nodes();
    expect(nodes).toEqual([
      { id: 'node-a-id', name: 'node-a', advertiseAddr: '192.168.0.1', status: NodeStatus.NODE_STATUS_UNSPECIFIED, appliedRevision: 0, registeredRevision: 1, availability: 'active', labels: {}, programmedNetworks: {}, unprogrammedEndpointIds: [], programmedServices: {}, gatewaySubnet: '', gossipPublicKey: '', reservedPorts: [], certificateSerial: '', certificateNotAfter: '', certificateRequestedBy: '', interfaces: [], linkKinds: [], ephemeralPortFirst: 0, ephemeralPortLast: 0 },
      { id: 'node-b-id', name: 'node-b', advertiseAddr: '192.168.0.2', status: NodeStatus.NODE_STATUS_UNSPECIFIED, appliedRevision: 0, registeredRevision: 2, availability: 'active', labels: {}, programmedNetworks: {}, unprogrammedEndpointIds: [], programmedServices: {}, gatewaySubnet: '', gossipPublicKey: '', reservedPorts: [], certificateSerial: '', certificateNotAfter: '', certificateRequestedBy: '', interfaces: [], linkKinds: [], ephemeralPortFirst: 0, ephemeralPortLast: 0 },
    ]);
  });

  it('keeps the id when a node re-registers, taking its new address', () => {
    const store = twoNodeStore();
    const revision = store.revision;
    const node = must(store, { type: 'registerNode', id: 'another-id', name: 'node-a', advertiseAddr: '192.168.0.9' });
    expect(node).toMatchObject({ id: 'node-a-id', advertiseAddr: '192.168.0.9', registeredRevision: 1 });
    expect(store.revision).toBe(revision + 1);
    expect(store.node('another-id')).toBeUndefined();
    expect(store.nodeView('node-a-id').endpoints.find((endpoint) => endpoint.sandboxId === 'web-id-0123456789')?.vtep).toBe('192.168.0.9');
  });
});

describe('answers', () => {
  it('are copies: changing one does not change the store', () => {
    const store = twoNodeStore();
    const network = store.network('front');
    network?.endpoints[0]?.aliases.push('evil');
    if (network) network.name = 'renamed';
    expect(store.network('front')?.endpoints[0]?.aliases).toEqual(['www']);
  });
});

describe('snapshot', () => {
  it('round-trips exactly through JSON', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'b', name: 'back', driver: '', subnet: '10.0.2.0/24', ipRange: '10.0.2.128/25' });
    must(store, { type: 'connect', endpointId: 'e1', network: 'back', sandbox: 'db', ip: '10.0.2.7', aliases: ['db.back'] });

    const restored = Store.restore(JSON.parse(JSON.stringify(store.snapshot())));

    expect(restored.snapshot()).toEqual(store.snapshot());
    expect(restored.revision).toBe(store.revision);
    expect(restored.networks()).toEqual(store.networks());
    expect(restored.sandboxes()).toEqual(store.sandboxes());
    expect(restored.nodes()).toEqual(store.nodes());
  });

  it('keeps adopted namespaces, and restores sandbox records from before adoption as not adopted', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'cni-id-0123456789', name: 'pod', node: 'node-a', netns: '/run/netns/cni-7f3a' });
    const snapshot = JSON.parse(JSON.stringify(store.snapshot())) as StoreSnapshot;
    // What a snapshot written before adoption existed holds: records without the field.
    expect(snapshot.sandboxes.filter((sandbox) => 'adoptedNetns' in sandbox).map((sandbox) => sandbox.name)).toEqual(['pod']);

    const restored = Store.restore(snapshot);

    expect(restored.sandboxes().map(({ name, netns, adopted }) => ({ name, netns, adopted }))).toEqual([
      { name: 'db', netns: '/run/netns/trsb-db-id-0123', adopted: false },
      { name: 'pod', netns: '/run/netns/cni-7f3a', adopted: true },
      { name: 'web', netns: '/run/netns/trsb-web-id-012', adopted: false },
    ]);
    expect(restored.apply({ type: 'createSandbox', id: 'x-0123456789', name: 'again', node: 'node-b', netns: '/run/netns/cni-7f3a' }))
      .toMatchObject({ ok: false, error: { code: 'ALREADY_EXISTS', field: 'netns' } });
  });

  it('restores the allocators too, so both stores decide alike afterwards', () => {
    const store = twoNodeStore();
    const restored = Store.restore(store.snapshot());
    for (const target of [store, restored]) {
      must(target, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    }
    const next: Command[] = [
      { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'cache', ip: '10.0.1.3', aliases: [] },
      { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'cache', aliases: [] },
      { type: 'createNetwork', id: 'b', name: 'back', driver: '', subnet: '10.0.2.0/24' },
    ];
    for (const command of next) expect(restored.apply(command)).toEqual(store.apply(command));
    expect(restored.snapshot()).toEqual(store.snapshot());
  });

  it('is not shared with the store that made it', () => {
    const store = twoNodeStore();
    const snapshot = store.snapshot();
    snapshot.networks[0]!.name = 'changed';
    expect(store.network('front')).toBeDefined();
  });
});
