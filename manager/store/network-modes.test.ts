import type { Command, Connect, CreateNetwork, CreateSandbox, RegisterNode } from './commands';
import type { Store } from './store';
import { must, twoNodeStore, type RefusedCase } from './test-fixtures';

/*
 * Issue #17 in the store: bridge, macvlan and ipvlan networks local to one node, sandboxes with
 * --network none|host or sharing another's namespace, publish-all, and what agents report about
 * their nodes. node-a reports eth0 and eth1 and a kernel with macvlan and vlan (no ipvlan, like
 * this machine's); node-b's agent is an older one that reports nothing.
 */

const nodeAReport: RegisterNode = {
  type: 'registerNode',
  id: 'node-a-id',
  name: 'node-a',
  advertiseAddr: '192.168.0.1',
  interfaces: [
    { name: 'eth0', kind: '', addresses: ['198.18.0.11/24'] },
    { name: 'eth1', kind: '', addresses: [] },
  ],
  linkKinds: ['vlan', 'macvlan'],
  ephemeralPortFirst: 40000,
  ephemeralPortLast: 40004,
};
const network = (fields: Partial<CreateNetwork>): CreateNetwork => ({ type: 'createNetwork', id: 'new-net-id', name: 'local', driver: 'bridge', node: 'node-a', subnet: '10.9.0.0/24', ...fields });
const macvlan = (fields: Partial<CreateNetwork>): CreateNetwork =>
  network({ driver: 'macvlan', parent: 'eth0', subnet: '198.18.0.0/24', gateway: '198.18.0.1', ...fields });
const sandbox = (name: string, fields: Partial<CreateSandbox> = {}): CreateSandbox => ({ type: 'createSandbox', id: `${name}-id-0123456789`, name, node: 'node-a', ...fields });
const connect = (fields: Partial<Connect>): Connect => ({ type: 'connect', endpointId: 'new-ep-id', network: 'br', sandbox: 'app', aliases: [], ...fields });
const bridge: CreateNetwork = network({ id: 'br-id', name: 'br' });
const lan: CreateNetwork = macvlan({ id: 'lan-id', name: 'lan' });
const app = sandbox('app');

function store(...commands: Command[]): Store {
  const created = twoNodeStore();
  must(created, nodeAReport);
  for (const command of commands) must(created, command);
  return created;
}

const cases: RefusedCase[] = [
  // Drivers and where they live.
  { title: 'an unknown driver', command: network({ driver: 'vxlan' }), code: 'INVALID_ARGUMENT', field: 'driver', says: ['"vxlan"', 'bridge'] },
  { title: 'a bridge network without a node', command: network({ node: '' }), code: 'INVALID_ARGUMENT', field: 'node', says: ['--node NODE'] },
  { title: 'a bridge network on an unknown node', command: network({ node: 'node-z' }), code: 'NOT_FOUND', field: 'node', says: ['"node-z"'] },
  { title: 'an overlay network with a node', command: network({ driver: 'overlay' }), code: 'INVALID_ARGUMENT', field: 'node', says: ['every node', 'bridge, macvlan or ipvlan'] },
  { title: 'an overlay network with a parent', command: network({ driver: '', node: '', parent: 'eth0' }), code: 'INVALID_ARGUMENT', field: 'parent', says: ['macvlan and ipvlan'] },
  { title: 'an overlay network with options', command: network({ driver: '', node: '', options: { icc: 'false' } }), code: 'INVALID_ARGUMENT', field: 'options', says: ['options.icc', 'no driver options'] },
  { title: 'a bridge network with a vni', command: network({ vni: 5000 }), code: 'INVALID_ARGUMENT', field: 'vni', says: ['no VXLAN'] },
  { title: 'a bridge network with a parent', command: network({ parent: 'eth0' }), code: 'INVALID_ARGUMENT', field: 'parent', says: ['bridge of its own'] },
  // Options.
  { title: 'an unknown bridge option', command: network({ options: { mtu: '1400' } }), code: 'INVALID_ARGUMENT', field: 'options', says: ['options.mtu', 'icc=true|false'] },
  { title: 'a bad icc value', command: network({ options: { icc: 'no' } }), code: 'INVALID_ARGUMENT', field: 'options', says: ['options.icc', '"no"', 'true or false'] },
  { title: 'icc under both names', command: network({ options: { icc: 'false', 'com.docker.network.bridge.enable_icc': 'false' } }), code: 'INVALID_ARGUMENT', field: 'options', says: ['give it once'] },
  { title: 'macvlan mode vepa', command: macvlan({ options: { macvlan_mode: 'vepa' } }), code: 'INVALID_ARGUMENT', field: 'options', says: ['options.macvlan_mode', 'not supported', 'bridge or private'] },
  { title: 'an ipvlan option on a macvlan network', command: macvlan({ options: { ipvlan_mode: 'l2' } }), code: 'INVALID_ARGUMENT', field: 'options', says: ['options.ipvlan_mode', 'macvlan_mode='] },
  // Parents and the node's kernel.
  { title: 'macvlan without a parent', command: macvlan({ parent: '' }), code: 'INVALID_ARGUMENT', field: 'parent', says: ['--parent DEV', 'eth0, eth1'] },
  { title: 'a parent the node does not have', command: macvlan({ parent: 'eth7' }), code: 'FAILED_PRECONDITION', field: 'parent', says: ['no interface "eth7"', 'eth0, eth1'] },
  { title: 'a parent that is no interface name', command: macvlan({ parent: 'eth0/1' }), code: 'INVALID_ARGUMENT', field: 'parent', says: ['"eth0/1"'] },
  { title: 'a VLAN of an interface the node lacks', command: macvlan({ parent: 'eth9.42' }), code: 'FAILED_PRECONDITION', field: 'parent', says: ['VLAN 42 of "eth9"', 'eth0, eth1'] },
  {
    title: 'a VLAN parent on a kernel without VLAN devices',
    given: [{ ...nodeAReport, linkKinds: ['macvlan'] }],
    command: macvlan({ parent: 'eth0.42' }),
    code: 'FAILED_PRECONDITION',
    field: 'parent',
    says: ['cannot make VLAN devices'],
  },
  { title: 'ipvlan where the kernel lacks it', command: macvlan({ driver: 'ipvlan' }), code: 'FAILED_PRECONDITION', field: 'driver', says: ['lacks ipvlan'] },
  { title: 'macvlan on a node whose agent reported no link kinds', command: macvlan({ node: 'node-b' }), code: 'FAILED_PRECONDITION', field: 'node', says: ['did not report which link kinds', 'upgrade its agent'] },
  { title: 'macvlan without a subnet', command: macvlan({ subnet: '', gateway: '' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ["LAN's --subnet"] },
  // Subnets.
  { title: 'a bridge subnet overlapping an overlay network', command: network({ subnet: '10.0.1.0/25' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['10.0.1.0/24', 'overlay network "front"'] },
  { title: 'an overlay subnet overlapping a bridge network', given: [bridge], command: network({ driver: '', node: '', subnet: '10.9.0.0/16' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['bridge network "br" on node "node-a"'] },
  { title: 'two bridge networks of one node overlapping', given: [bridge], command: network({ subnet: '10.9.0.128/25' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['bridge network "br" on node "node-a"'] },
  { title: 'two macvlan networks on one parent overlapping', given: [lan], command: macvlan({ subnet: '198.18.0.0/25', gateway: '' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['macvlan network "lan" on the same parent eth0'] },
  // Sandbox modes.
  { title: 'an unknown network mode', command: sandbox('app', { networkMode: 'bridge' }), code: 'INVALID_ARGUMENT', field: 'network_mode', says: ['"bridge"', 'none', 'host', 'network connect'] },
  { title: 'host mode with an adopted namespace', command: sandbox('app', { networkMode: 'host', netns: '/run/netns/x' }), code: 'INVALID_ARGUMENT', field: 'network_mode', says: ['--netns'] },
  { title: 'netns_from with a network mode', given: [app], command: sandbox('side', { netnsFrom: 'app', networkMode: 'none' }), code: 'INVALID_ARGUMENT', field: 'netns_from', says: ['network_mode'] },
  { title: 'netns_from of an unknown sandbox', command: sandbox('side', { netnsFrom: 'ghost' }), code: 'NOT_FOUND', field: 'netns_from', says: ['"ghost"'] },
  { title: 'netns_from of a sandbox on another node', given: [app], command: sandbox('side', { netnsFrom: 'app', node: 'node-b' }), code: 'FAILED_PRECONDITION', field: 'netns_from', says: ['--node node-a'] },
  // Connecting.
  { title: 'a sandbox of another node to a bridge network', given: [bridge, sandbox('far', { node: 'node-b' })], command: connect({ sandbox: 'far' }), code: 'FAILED_PRECONDITION', field: 'sandbox', says: ['local to node "node-a"'] },
  { title: 'a none sandbox', given: [bridge, sandbox('app', { networkMode: 'none' })], command: connect({}), code: 'FAILED_PRECONDITION', field: 'sandbox', says: ['--network none'] },
  { title: 'a host sandbox', given: [bridge, sandbox('app', { networkMode: 'host' })], command: connect({}), code: 'FAILED_PRECONDITION', field: 'sandbox', says: ['--network host'] },
  {
    title: 'a published port on a host sandbox',
    given: [bridge, sandbox('app', { networkMode: 'host' })],
    command: connect({ publishedPorts: [{ hostPort: 8080, port: 80 }] }),
    code: 'FAILED_PRECONDITION',
    field: 'published_ports',
    says: ['nothing to publish'],
  },
  { title: 'a sandbox sharing a namespace', given: [bridge, app, sandbox('side', { netnsFrom: 'app' })], command: connect({ sandbox: 'side' }), code: 'FAILED_PRECONDITION', field: 'sandbox', says: ['connect "app" instead'] },
  { title: 'a published port on macvlan', given: [lan, app], command: connect({ network: 'lan', publishedPorts: [{ hostPort: 8080, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['macvlan', 'own'] },
  { title: '-P on macvlan', given: [lan, app], command: connect({ network: 'lan', publishAll: true, exposedPorts: [{ port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'publish_all', says: ['macvlan'] },
  { title: '-P with nothing exposed', given: [bridge, app], command: connect({ publishAll: true }), code: 'INVALID_ARGUMENT', field: 'publish_all', says: ['-P with nothing exposed: add --expose PORT'] },
  { title: 'an exposed port out of range', given: [bridge, app], command: connect({ exposedPorts: [{ port: 70000 }] }), code: 'INVALID_ARGUMENT', field: 'exposed_ports', says: ['exposed_ports[0].port', '70000'] },
  { title: 'an exposed port of a bad protocol', given: [bridge, app], command: connect({ exposedPorts: [{ port: 80, protocol: 'sctp' }] }), code: 'INVALID_ARGUMENT', field: 'exposed_ports', says: ['"sctp"'] },
  { title: 'an exposed port twice', given: [bridge, app], command: connect({ exposedPorts: [{ port: 80 }, { port: 80, protocol: 'tcp' }] }), code: 'INVALID_ARGUMENT', field: 'exposed_ports', says: ['80/tcp is exposed twice'] },
  {
    title: '-P with the ephemeral range full',
    given: [bridge, app, sandbox('other'), connect({ endpointId: 'ep-other', sandbox: 'other', publishedPorts: [40000, 40001, 40002, 40003, 40004].map((hostPort) => ({ hostPort, port: hostPort })) })],
    command: connect({ publishAll: true, exposedPorts: [{ port: 80 }] }),
    code: 'RESOURCE_EXHAUSTED',
    field: 'publish_all',
    says: ['40000-40004'],
  },
  { title: 'a service on a bridge network', given: [bridge], command: { type: 'createService', id: 'svc', name: 'svc', networks: ['front', 'br'] }, code: 'FAILED_PRECONDITION', field: 'networks', says: ['"br" is a bridge network local to node "node-a"', 'overlay'] },
  // Node reports.
  { title: 'an interface name with a slash', command: { ...nodeAReport, interfaces: [{ name: 'eth/0' }] }, code: 'INVALID_ARGUMENT', field: 'interfaces', says: ['interfaces[0].name', '"eth/0"'] },
  { title: 'an interface reported twice', command: { ...nodeAReport, interfaces: [{ name: 'eth0' }, { name: 'eth0' }] }, code: 'INVALID_ARGUMENT', field: 'interfaces', says: ['twice'] },
  { title: 'an interface address without a length', command: { ...nodeAReport, interfaces: [{ name: 'eth0', addresses: ['10.0.0.1'] }] }, code: 'INVALID_ARGUMENT', field: 'interfaces', says: ['a.b.c.d/len'] },
  { title: 'a link kind with spaces', command: { ...nodeAReport, linkKinds: ['mac vlan'] }, code: 'INVALID_ARGUMENT', field: 'link_kinds', says: ['"mac vlan"'] },
  { title: 'an upside-down ephemeral range', command: { ...nodeAReport, ephemeralPortFirst: 60000, ephemeralPortLast: 1000 }, code: 'INVALID_ARGUMENT', field: 'ephemeral_port_first', says: ['60000-1000'] },
  { title: 'too many interfaces', command: { ...nodeAReport, interfaces: Array.from({ length: 129 }, (_, i) => ({ name: `d${i}` })) }, code: 'INVALID_ARGUMENT', field: 'interfaces', says: ['at most 128 per node'] },
];

describe('network modes: refusals', () => {
  it.each(cases)('$title → $code on $field, state untouched', ({ given, command, code, field, says }) => {
    const created = store(...(given ?? []));
    const before = created.snapshot();
    const result = created.apply(command);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect({ code: result.error.code, field: result.error.field }).toEqual({ code, field });
    for (const piece of says) expect(result.error.message).toContain(piece);
    expect(created.snapshot()).toEqual(before);
  });

  it('refuses to remove a node that still holds a local network, naming it', () => {
    const created = store(bridge);
    const result = created.apply({ type: 'removeNode', node: 'node-a' });
    // node-a hosts sandboxes too: remove them first, so the network is what is left.
    expect(result.ok).toBe(false);
    must(created, { type: 'removeSandbox', sandbox: 'web' });
    const refused = created.apply({ type: 'removeNode', node: 'node-a' });
    expect(refused).toEqual({ ok: false, error: expect.objectContaining({ code: 'FAILED_PRECONDITION', field: 'node', message: expect.stringContaining('"br"') }) });
    must(created, { type: 'removeNetwork', network: 'br' });
    must(created, { type: 'removeNode', node: 'node-a' });
  });
});

describe('network modes: local networks', () => {
  it('creates a bridge network on its node with vni 0, the default options, and in no other node view', () => {
    const created = store(bridge, app);
    expect(created.network('br')).toMatchObject({ driver: 'bridge', node: 'node-a', parent: '', options: { icc: 'true' }, vni: 0 });
    must(created, connect({}));
    expect(created.nodeView('node-a-id').networks.find((view) => view.name === 'br')).toMatchObject({ driver: 'bridge', vni: 0, isolateSandboxes: false });
    expect(created.nodeView('node-b-id').networks.map((view) => view.name)).toEqual(['front']);
  });

  it("stores Docker's enable_icc as icc, and icc=false isolates the bridge's sandboxes", () => {
    const created = store(network({ id: 'iso-id', name: 'iso', options: { 'com.docker.network.bridge.enable_icc': 'false' } }), app);
    expect(created.network('iso')?.options).toEqual({ icc: 'false' });
    must(created, connect({ network: 'iso' }));
    expect(created.nodeView('node-a-id').networks.find((view) => view.name === 'iso')?.isolateSandboxes).toBe(true);
  });

  it('creates macvlan on a parent the node has and on a VLAN of it, with the mode in the view', () => {
    const created = store(lan, macvlan({ id: 'v42', name: 'v42', parent: 'eth1.42', subnet: '192.168.42.0/24', gateway: '', options: { macvlan_mode: 'private' } }), app);
    expect(created.network('lan')).toMatchObject({ driver: 'macvlan', node: 'node-a', parent: 'eth0', options: { macvlan_mode: 'bridge' }, vni: 0 });
    must(created, connect({ network: 'v42' }));
    expect(created.nodeView('node-a-id').networks.find((view) => view.name === 'v42')).toMatchObject({ parent: 'eth1.42', mode: 'private', driver: 'macvlan' });
  });

  it("never gives a sandbox on a LAN an address a node holds there, automatically or statically", () => {
    const created = store(macvlan({ id: 'lan-id', name: 'lan', ipRange: '198.18.0.10/31' }), app, sandbox('app2'));
    expect(must(created, connect({ network: 'lan' })).ip).toBe('198.18.0.10');
    const full = created.apply(connect({ endpointId: 'ep-2', network: 'lan', sandbox: 'app2' }));
    expect(full).toMatchObject({ ok: false, error: { code: 'RESOURCE_EXHAUSTED' } });
    const taken = created.apply(connect({ endpointId: 'ep-2', network: 'lan', sandbox: 'app2', ip: '198.18.0.11' }));
    expect(taken).toMatchObject({ ok: false, error: { code: 'ALREADY_EXISTS', field: 'ip', message: expect.stringContaining('the address of eth0 on node "node-a"') } });
    must(created, { type: 'disconnect', network: 'lan', sandbox: 'app' });
    expect(must(created, connect({ endpointId: 'ep-2', network: 'lan', sandbox: 'app2' })).ip).toBe('198.18.0.10');
  });

  it('creates ipvlan where the kernel has it, l2 by default', () => {
    const created = store({ ...nodeAReport, linkKinds: ['ipvlan'] }, macvlan({ driver: 'ipvlan', name: 'ipv' }));
    expect(created.network('ipv')?.options).toEqual({ ipvlan_mode: 'l2' });
  });

  it('lets bridge networks of different nodes overlap, and keeps local subnets out of overlay_subnets', () => {
    const created = store(bridge, network({ id: 'br-b', name: 'br-b', node: 'node-b' }), lan);
    expect(created.network('br-b')?.subnet).toBe('10.9.0.0/24');
    expect(created.nodeView('node-a-id').overlaySubnets).toEqual(['10.0.1.0/24']);
  });

  it('gives a bridge network without a subnet a block of the default pools, and frees nothing of the VNIs on removal', () => {
    const created = store(network({ id: 'pooled', name: 'pooled', subnet: '' }));
    expect(created.network('pooled')).toMatchObject({ subnet: '10.0.0.0/24', vni: 0 });
    must(created, { type: 'removeNetwork', network: 'pooled' });
    expect(must(created, { type: 'createNetwork', id: 'o2', name: 'o2', driver: '', subnet: '10.7.0.0/24' }).vni).toBe(4097);
  });

  it('lets a node re-register without its report, which clears it', () => {
    const created = store();
    must(created, { type: 'registerNode', id: 'node-a-id', name: 'node-a', advertiseAddr: '192.168.0.1' });
    expect(created.node('node-a')).toMatchObject({ interfaces: [], linkKinds: [], ephemeralPortFirst: 0, ephemeralPortLast: 0 });
  });

  it('stores what the agent reported, link kinds sorted', () => {
    expect(store().node('node-a')).toMatchObject({
      interfaces: [
        { name: 'eth0', kind: '', addresses: ['198.18.0.11/24'] },
        { name: 'eth1', kind: '', addresses: [] },
      ],
      linkKinds: ['macvlan', 'vlan'],
      ephemeralPortFirst: 40000,
      ephemeralPortLast: 40004,
    });
  });
});

describe('network modes: sandboxes', () => {
  it('creates none and host sandboxes, shown in the view with their mode', () => {
    const created = store(sandbox('iso', { networkMode: 'none' }), sandbox('hostnet', { networkMode: 'host' }));
    expect(created.sandbox('hostnet')).toMatchObject({ networkMode: 'host', netnsFrom: '' });
    expect(created.nodeView('node-a-id').sandboxes.map(({ name, networkMode }) => [name, networkMode])).toEqual([
      ['hostnet', 'host'],
      ['iso', 'none'],
      ['web', ''],
    ]);
  });

  it("shares a namespace: the new sandbox takes the other's name, path and mode; removal in either order keeps it while one is left", () => {
    for (const first of ['app', 'side']) {
      const created = store(sandbox('app', { networkMode: 'none' }), sandbox('side', { netnsFrom: 'app' }));
      const owner = created.sandbox('app');
      expect(created.sandbox('side')).toMatchObject({ netns: owner?.netns, netnsFrom: 'app-id-0123456789', networkMode: 'none' });
      const views = created.nodeView('node-a-id').sandboxes.filter((view) => view.name !== 'web');
      expect(views.map(({ netnsName, sharesNetns }) => [netnsName, sharesNetns])).toEqual([
        [views[0]?.netnsName, true],
        [views[0]?.netnsName, true],
      ]);
      must(created, { type: 'removeSandbox', sandbox: first });
      const left = created.nodeView('node-a-id').sandboxes.filter((view) => view.name !== 'web');
      expect(left.map((view) => view.netnsName)).toEqual([views[0]?.netnsName]);
      must(created, { type: 'removeSandbox', sandbox: first === 'app' ? 'side' : 'app' });
      expect(created.nodeView('node-a-id').sandboxes.map((view) => view.name)).toEqual(['web']);
    }
  });

  it('sends both sandboxes, now sharing, in the view delta of the share', () => {
    const created = store(app);
    const before = created.revision;
    must(created, sandbox('side', { netnsFrom: 'app' }));
    const changes = created.changesSince(before);
    if (!changes) throw new Error('the journal lost the change');
    const delta = created.viewDelta('node-a-id', before, changes);
    expect(delta.sandboxes.map(({ name, sharesNetns }) => [name, sharesNetns]).sort()).toEqual([
      ['app', true],
      ['side', true],
    ]);
  });

  it('shares an adopted namespace by its path', () => {
    const created = store(sandbox('pod', { netns: '/run/netns/cni-1' }), sandbox('side', { netnsFrom: 'pod' }));
    expect(created.sandbox('side')).toMatchObject({ netns: '/run/netns/cni-1', adopted: true });
  });
});

describe('network modes: publish-all', () => {
  it('gives each exposed port the lowest free port of the node range, skipping taken, reserved and explicit ones, the same on every replay', () => {
    const commands: Command[] = [
      bridge,
      app,
      sandbox('other'),
      connect({ endpointId: 'ep-other', sandbox: 'other', publishedPorts: [{ hostPort: 40000, port: 80 }] }),
      { ...nodeAReport, reservedPorts: [{ port: 40002, reason: 'metrics' }] },
      connect({ publishAll: true, exposedPorts: [{ port: 80 }, { port: 443 }, { port: 53, protocol: 'udp' }, { port: 22 }], publishedPorts: [{ hostPort: 40001, port: 22 }] }),
    ];
    const endpoint = store(...commands).sandbox('app')?.endpoints[0];
    expect(endpoint).toMatchObject({ publishAll: true, exposedPorts: [{ protocol: 'tcp', port: 80 }, { protocol: 'tcp', port: 443 }, { protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 22 }] });
    expect(endpoint?.publishedPorts).toEqual([
      { protocol: 'tcp', hostPort: 40001, port: 22 },
      { protocol: 'tcp', hostPort: 40003, port: 80 },
      { protocol: 'tcp', hostPort: 40004, port: 443 },
      { protocol: 'udp', hostPort: 40000, port: 53 },
    ]);
    expect(store(...commands).sandbox('app')?.endpoints[0]?.publishedPorts).toEqual(endpoint?.publishedPorts);
  });

  it('never gives two endpoints of a node the same port, and uses 32768 up on nodes that reported no range', () => {
    const created = twoNodeStore();
    must(created, { type: 'createSandbox', id: 'b2-id-0123456789', name: 'b2', node: 'node-b' });
    must(created, { type: 'disconnect', network: 'front', sandbox: 'db' });
    const expose = { publishAll: true, exposedPorts: [{ port: 80 }] };
    const first = must(created, { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'db', aliases: [], ...expose });
    const second = must(created, { type: 'connect', endpointId: 'e2', network: 'front', sandbox: 'b2', aliases: [], ...expose });
    expect([first.publishedPorts[0]?.hostPort, second.publishedPorts[0]?.hostPort]).toEqual([32768, 32769]);
  });

  it("skips a service's ingress port", () => {
    const created = twoNodeStore();
    must(created, { type: 'createService', id: 'svc', name: 'svc', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 32768 }] });
    must(created, { type: 'disconnect', network: 'front', sandbox: 'db' });
    const endpoint = must(created, { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'db', aliases: [], publishAll: true, exposedPorts: [{ port: 80 }] });
    expect(endpoint.publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 32769, port: 80 }]);
  });

  it('records exposed ports without publishing them when -P is not given', () => {
    const endpoint = must(store(bridge, app), connect({ exposedPorts: [{ port: 80 }] }));
    expect(endpoint).toMatchObject({ publishAll: false, exposedPorts: [{ protocol: 'tcp', port: 80 }], publishedPorts: [] });
  });
});
