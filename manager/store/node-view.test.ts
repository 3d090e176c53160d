import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

describe('nodeView', () => {
  it('gives a node its networks, its sandboxes and every endpoint of those networks', () => {
    const store = twoNodeStore();
    const view: NodeView = store.nodeView('node-a-id');
    expect(view).toEqual({
      revision: store.revision,
      nodeId: 'node-a-id',
      nodeName: 'node-a',
      advertiseAddr: '192.168.0.1',
      networks: [{ id: 'front-id', name: 'front', vni: 4096, subnet: '10.0.1.0/24', gateway: '10.0.1.1', mtu: 0, internal: false, driver: 'overlay', subnets: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1' }], parent: '', mode: '', isolateSandboxes: false }],
      sandboxes: [{ id: 'web-id-0123456789', name: 'web', netnsName: 'trsb-web-id-012', netnsPath: '', networkMode: '', sharesNetns: false }],
      endpoints: [
        {
          id: 'ep-web-front',
          networkId: 'front-id',
          sandboxId: 'web-id-0123456789',
          nodeId: 'node-a-id',
          vtep: '192.168.0.1',
          ip: '10.0.1.2',
          prefixLength: 24,
          mac: '02:42:0a:00:01:02',
          interfaceName: 'eth0',
          // Without --hostname an endpoint's hostname is its sandbox's name.
          hostname: 'web',
          extraHosts: [],
          dns: [],
          publishedPorts: [],
          serviceId: '',
          draining: false,
          aliases: ['www'],
          sandboxName: 'web',
        },
        {
          id: 'ep-db-front',
          networkId: 'front-id',
          sandboxId: 'db-id-0123456789',
          nodeId: 'node-b-id',
          vtep: '192.168.0.2',
          ip: '10.0.1.3',
          prefixLength: 24,
          mac: '02:42:0a:00:01:03',
          interfaceName: 'eth0',
          hostname: 'db',
          extraHosts: [],
          dns: [],
          publishedPorts: [],
          serviceId: '',
          draining: false,
          aliases: [],
          sandboxName: 'db',
        },
      ],
      overlaySubnets: ['10.0.1.0/24'],
      services: [],
      // Neither node gossips.
      members: [],
    });
  });

  it('leaves out networks with no local endpoint, and orders networks by VNI', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'connect', endpointId: 'ep-db-back', network: 'back', sandbox: 'db', aliases: [] });

    const nodeA = store.nodeView('node-a-id');
    const nodeB = store.nodeView('node-b-id');

    expect(nodeA.networks.map((network) => network.name)).toEqual(['front']);
    expect(nodeA.endpoints.map((endpoint) => endpoint.id)).toEqual(['ep-web-front', 'ep-db-front']);
    expect(nodeB.networks.map((network) => [network.name, network.vni])).toEqual([['front', 4096], ['back', 4097]]);
    expect(nodeB.endpoints.map((endpoint) => endpoint.id)).toEqual(['ep-web-front', 'ep-db-front', 'ep-db-back']);
  });

  it('is empty for a node without sandboxes, and for an unknown node', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    expect(store.nodeView('node-c-id')).toMatchObject({ nodeName: 'node-c', networks: [], sandboxes: [], endpoints: [] });
    expect(store.nodeView('nope')).toEqual({
      revision: store.revision,
      nodeId: 'nope',
      nodeName: '',
      advertiseAddr: '',
      networks: [],
      sandboxes: [],
      endpoints: [],
      overlaySubnets: [],
      services: [],
      members: [],
    });
  });

  it('lists every subnet of every network in the cluster, hosted or not, by address and each once', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createNetwork', id: 'wide-id', name: 'wide', driver: '', ipam: [{ subnet: '10.0.10.0/24' }, { subnet: '10.0.2.0/24' }] });
    must(store, { type: 'createNetwork', id: 'inner-id', name: 'inner', driver: '', subnet: '10.0.9.0/28', internal: true });
    must(store, { type: 'createNetwork', id: 'pooled-id', name: 'pooled', driver: '' });
    must(store, { type: 'createNetwork', id: 'twin-id', name: 'twin', driver: '', subnet: '10.0.2.0/24' });
    const everySubnet = ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.9.0/28', '10.0.10.0/24'];

    for (const node of ['node-a-id', 'node-b-id', 'node-c-id']) expect(store.nodeView(node).overlaySubnets).toEqual(everySubnet);
    // The twin still holds 10.0.2.0/24.
    must(store, { type: 'removeNetwork', network: 'wide' });
    expect(store.nodeView('node-c-id').overlaySubnets).toEqual(['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.9.0/28']);
  });

  it('gives every endpoint its published ports, remote ones included', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-b' });
    must(store, {
      type: 'connect',
      endpointId: 'ep-api-front',
      network: 'front',
      sandbox: 'api',
      aliases: [],
      publishedPorts: [{ hostPort: 8080, port: 80 }, { protocol: 'udp', hostPort: 5353, port: 53 }],
    });
    const published = [
      { protocol: 'tcp', hostPort: 8080, port: 80 },
      { protocol: 'udp', hostPort: 5353, port: 53 },
    ];
    for (const node of ['node-a-id', 'node-b-id']) {
      expect(store.nodeView(node).endpoints.find((endpoint) => endpoint.id === 'ep-api-front')?.publishedPorts).toEqual(published);
    }
  });

  it("gives every node a remote endpoint's --hostname, aliases and sandbox name, in the view and in deltas: each node's resolver answers them", () => {
    const store = twoNodeStore();
    const before = store.revision;
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-b' });
    must(store, { type: 'connect', endpointId: 'ep-api-front', network: 'front', sandbox: 'api', hostname: 'api-1', aliases: ['backend'] });
    const names = { hostname: 'api-1', aliases: ['backend'], sandboxName: 'api', nodeId: 'node-b-id' };
    expect(store.nodeView('node-a-id').endpoints.find((endpoint) => endpoint.id === 'ep-api-front')).toMatchObject(names);
    const changes = store.changesSince(before);
    if (!changes) throw new Error('the journal lost the revisions of the test');
    const delta = store.viewDelta('node-a-id', before, changes);
    expect(delta.endpoints.find((endpoint) => endpoint.id === 'ep-api-front')).toMatchObject(names);
  });

  it('depends on the state only, not on the order it was reached in', () => {
    const build = (connectOrder: Array<'web' | 'db'>): Store => {
      const store = new Store();
      must(store, { type: 'registerNode', id: 'node-a-id', name: 'node-a', advertiseAddr: '192.168.0.1' });
      must(store, { type: 'createNetwork', id: 'front-id', name: 'front', driver: '', subnet: '10.0.1.0/24' });
      must(store, { type: 'createSandbox', id: 'web-id-0123456789', name: 'web', node: 'node-a' });
      must(store, { type: 'createSandbox', id: 'db-id-0123456789', name: 'db', node: 'node-a' });
      for (const sandbox of connectOrder) {
        const ip = sandbox === 'web' ? '10.0.1.10' : '10.0.1.20';
        must(store, { type: 'connect', endpointId: `ep-${sandbox}`, network: 'front', sandbox, ip, aliases: [] });
      }
      return store;
    };
    expect(build(['web', 'db']).nodeView('node-a-id')).toEqual(build(['db', 'web']).nodeView('node-a-id'));
  });

  it('carries the services of hosted networks, each with only the VIPs of those networks, and their backends', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'createNetwork', id: 'side-id', name: 'side', driver: '', subnet: '10.0.3.0/24' });
    must(store, { type: 'createService', id: 'api-svc', name: 'api', networks: ['front', 'back'], ports: [{ protocol: 'tcp', targetPort: 80 }] });
    must(store, { type: 'createService', id: 'names-svc', name: 'names', networks: ['front'], endpointMode: 'dnsrr' });
    must(store, { type: 'createService', id: 'side-svc', name: 'elsewhere', networks: ['side'] });
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api-1', node: 'node-b' });
    must(store, { type: 'connect', endpointId: 'ep-api-back', network: 'back', sandbox: 'api-1', aliases: [], service: 'api' });

    const onlyFront = store.nodeView('node-a-id');
    expect(onlyFront.services).toEqual([
      {
        id: 'api-svc',
        name: 'api',
        endpointMode: 'vip',
        ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 80, publishMode: 'ingress' }],
        vips: [{ networkId: 'front-id', networkName: 'front', ip: '10.0.1.4' }],
        drainTimeoutSeconds: 30,
        tcpIdleTimeoutSeconds: 86_400,
        udpIdleTimeoutSeconds: 900,
        revision: 10,
      },
      expect.objectContaining({ id: 'names-svc', endpointMode: 'dnsrr', vips: [] }),
    ]);
    // node-b hosts back too: both VIPs, and the backend names its service.
    const frontAndBack = store.nodeView('node-b-id');
    expect(frontAndBack.services.find((service) => service.id === 'api-svc')?.vips.map((vip) => vip.networkName)).toEqual(['front', 'back']);
    expect(frontAndBack.endpoints.find((endpoint) => endpoint.id === 'ep-api-back')).toMatchObject({ serviceId: 'api-svc', draining: false, sandboxName: 'api-1' });
    expect(frontAndBack.services.map((service) => service.id)).not.toContain('side-svc');
  });
  it('gives every node the services publishing ingress ports and their backends, without their networks', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createService', id: 'front-svc', name: 'front-svc', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 8480 }] });
    must(store, { type: 'createService', id: 'host-svc', name: 'host-svc', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 8481, publishMode: 'host' }] });
    must(store, { type: 'createSandbox', id: 'f1-id-0123456789', name: 'f1', node: 'node-a' });
    must(store, { type: 'connect', endpointId: 'ep-f1', network: 'front', sandbox: 'f1', aliases: [], service: 'front-svc' });
    must(store, { type: 'createSandbox', id: 'h1-id-0123456789', name: 'h1', node: 'node-b' });
    must(store, { type: 'connect', endpointId: 'ep-h1', network: 'front', sandbox: 'h1', aliases: [], service: 'host-svc' });

    // node-c has nothing on front: the ingress service (no VIP here) and its backend with its node's address, nothing else.
    const bystander = store.nodeView('node-c-id');
    expect(bystander.networks).toEqual([]);
    expect(bystander.services.map((service) => [service.id, service.vips])).toEqual([['front-svc', []]]);
    expect(bystander.endpoints).toEqual([expect.objectContaining({ id: 'ep-f1', networkId: 'front-id', serviceId: 'front-svc', nodeId: 'node-a-id', vtep: '192.168.0.1' })]);
    // A host of front holds the backend once, with its network.
    expect(store.nodeView('node-b-id').endpoints.filter((endpoint) => endpoint.id === 'ep-f1')).toHaveLength(1);

    // Its last ingress port gone, the service and its backend leave node-c's view; a new one brings them back.
    must(store, { type: 'updateService', service: 'front-svc', publishRm: [{ targetPort: 8480 }], publishAdd: [{ targetPort: 80, publishedPort: 8482, publishMode: 'host' }] });
    expect(store.nodeView('node-c-id')).toMatchObject({ services: [], endpoints: [] });
    must(store, { type: 'updateService', service: 'front-svc', publishAdd: [{ targetPort: 80, publishedPort: 8480 }] });
    expect(store.nodeView('node-c-id').endpoints.map((endpoint) => endpoint.id)).toEqual(['ep-f1']);
    // An unknown node still programs nothing.
    expect(store.nodeView('nope')).toMatchObject({ services: [], endpoints: [] });
  });
});

describe('nodeView of nodes that gossip', () => {
  /** front: web on node-a, db on node-b, cache on node-c; node-a and node-b gossip when `keyed`. */
  function frontOfThree(keyed: readonly ('node-a-id' | 'node-b-id')[]): Store {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-c' });
    must(store, { type: 'connect', endpointId: 'ep-cache-front', network: 'front', sandbox: 'cache', aliases: [] });
    for (const nodeId of keyed) must(store, { type: 'setNodeGossipKey', nodeId, publicKey: KEYS[nodeId] });
    return store;
  }
  const KEYS = { 'node-a-id': 'a'.repeat(64), 'node-b-id': 'b'.repeat(64) } as const;
  const endpointIds = (view: NodeView): string[] => view.endpoints.map((endpoint) => endpoint.id);

  it('leaves out of a gossiping node the endpoints another gossiping node owns on its networks, and lists that node as a member', () => {
    const store = frontOfThree(['node-a-id', 'node-b-id']);
    const viewOfA = store.nodeView('node-a-id');
    // Its own, and those of node-c, which does not gossip; node-b's db comes by gossip.
    expect(endpointIds(viewOfA)).toEqual(['ep-web-front', 'ep-cache-front']);
    expect(viewOfA.members).toEqual([{ networkId: 'front-id', nodeId: 'node-b-id', publicKey: KEYS['node-b-id'], vtep: '192.168.0.2' }]);
    expect(store.nodeView('node-b-id').members).toEqual([{ networkId: 'front-id', nodeId: 'node-a-id', publicKey: KEYS['node-a-id'], vtep: '192.168.0.1' }]);
  });

  it('leaves the view of a node that does not gossip as it was', () => {
    const before = frontOfThree([]).nodeView('node-c-id');
    const after = frontOfThree(['node-a-id', 'node-b-id']).nodeView('node-c-id');
    expect(after).toEqual({ ...before, revision: after.revision });
    expect(endpointIds(after)).toEqual(['ep-web-front', 'ep-db-front', 'ep-cache-front']);
    expect(after.members).toEqual([]);
  });

  it('gives a node that gossips with no fellow gossiping node every endpoint and no members, and its peers likewise', () => {
    const store = frontOfThree(['node-a-id']);
    for (const nodeId of ['node-a-id', 'node-b-id']) {
      expect(endpointIds(store.nodeView(nodeId))).toEqual(['ep-web-front', 'ep-db-front', 'ep-cache-front']);
      expect(store.nodeView(nodeId).members).toEqual([]);
    }
  });

  it('lists members by network, then node, with their address as the vtep, and follows a member that moves', () => {
    const store = frontOfThree(['node-a-id', 'node-b-id']);
    must(store, { type: 'setNodeGossipKey', nodeId: 'node-c-id', publicKey: 'c'.repeat(64) });
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'connect', endpointId: 'ep-cache-back', network: 'back', sandbox: 'cache', aliases: [] });
    must(store, { type: 'connect', endpointId: 'ep-web-back', network: 'back', sandbox: 'web', aliases: [] });
    must(store, { type: 'registerNode', id: 'unused', name: 'node-c', advertiseAddr: '192.168.0.33' });
    const viewOfA = store.nodeView('node-a-id');
    expect(viewOfA.members.map(({ networkId, nodeId, vtep }) => [networkId, nodeId, vtep])).toEqual([
      ['back-id', 'node-c-id', '192.168.0.33'],
      ['front-id', 'node-b-id', '192.168.0.2'],
      ['front-id', 'node-c-id', '192.168.0.33'],
    ]);
    expect(endpointIds(viewOfA)).toEqual(['ep-web-front', 'ep-web-back']);
  });

  it('keeps the backends of ingress services on networks the node does not host, whoever owns them', () => {
    const store = frontOfThree(['node-a-id', 'node-b-id']);
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'createService', id: 'api-svc', name: 'api', networks: ['back'], ports: [{ targetPort: 80, publishedPort: 8480 }] });
    must(store, { type: 'connect', endpointId: 'ep-db-back', network: 'back', sandbox: 'db', aliases: [], service: 'api' });
    const viewOfA = store.nodeView('node-a-id');
    expect(endpointIds(viewOfA)).toEqual(['ep-web-front', 'ep-cache-front', 'ep-db-back']);
    // Once node-a hosts back too, node-b's backend there comes by gossip.
    must(store, { type: 'connect', endpointId: 'ep-web-back', network: 'back', sandbox: 'web', aliases: [] });
    expect(endpointIds(store.nodeView('node-a-id'))).toEqual(['ep-web-front', 'ep-cache-front', 'ep-web-back']);
  });
});
