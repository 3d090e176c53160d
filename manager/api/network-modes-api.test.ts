import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectNetworkRequest, ControlClient, CreateNetworkRequest, CreateSandboxRequest } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest } from '../../proto/gen/trellis/v1/dispatcher';
import { callUnary, type UnaryMethod } from '../../proto/runtime/unary-call';
import { refused } from './refused';
import type { RunningManager } from '../daemon';
import { startApiManager, stopApiManager } from './test-api-manager';

/*
 * Issue #17 through the Control and Dispatcher APIs, over real gRPC on loopback with the log on a
 * real disk: what agents report at registration reaches the node, local networks are checked
 * against it, sandbox network modes and publish-all go through, and refusals change nothing.
 */

const network = CreateNetworkRequest.fromPartial;
const connect = ConnectNetworkRequest.fromPartial;
const sandbox = CreateSandboxRequest.fromPartial;
const firstPage = { pageSize: 0, pageToken: '' };

describe('Control API: network modes', () => {
  let dataDir: string;
  let manager: RunningManager;
  let control: ControlClient;
  let dispatcher: DispatcherClient;

  const rpc = <Req, Res>(pick: (client: ControlClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> => callUnary(control, pick, request, 10_000);
  const register = (request: Partial<RegisterRequest>) => callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial(request), 10_000);
  async function refusal(promise: Promise<unknown>): Promise<{ code: string; field: string; message: string }> {
    const error = await refused(promise);
    return { code: status[error.code], field: String(error.metadata.get('trellis-field')[0] ?? ''), message: error.details };
  }
  /** Everything a refusal must leave as it was. */
  const everything = async () => [
    await rpc((c) => c.listNetworks, firstPage),
    await rpc((c) => c.listSandboxes, firstPage),
    (await rpc((c) => c.listNodes, firstPage)).nodes.map(({ name, interfaces, linkKinds, ephemeralPortFirst, ephemeralPortLast }) => ({ name, interfaces, linkKinds, ephemeralPortFirst, ephemeralPortLast })),
  ];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-modes-api-'));
    ({ manager, control, dispatcher } = await startApiManager(dataDir));
    await register({
      nodeName: 'n1',
      advertiseAddr: '198.18.0.11',
      interfaces: [{ name: 'eth0', kind: '', addresses: ['198.18.0.11/24'] }],
      linkKinds: ['macvlan', 'vlan'],
      ephemeralPortFirst: 33000,
      ephemeralPortLast: 33100,
    });
    await register({ nodeName: 'n2', advertiseAddr: '198.18.0.12' });
    await rpc((c) => c.createNetwork, network({ name: 'blue', subnet: '10.231.0.0/24' }));
  });
  afterAll(async () => {
    await stopApiManager({ manager, control, dispatcher });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("stores what the node's agent reported at registration, and refuses a bad report naming the field", async () => {
    expect(await rpc((c) => c.getNode, { node: 'n1' })).toMatchObject({
      interfaces: [{ name: 'eth0', kind: '', addresses: ['198.18.0.11/24'] }],
      linkKinds: ['macvlan', 'vlan'],
      ephemeralPortFirst: 33000,
      ephemeralPortLast: 33100,
    });
    const before = await everything();
    const bad = await refusal(register({ nodeName: 'n1', advertiseAddr: '198.18.0.11', interfaces: [{ name: 'a-name-far-too-long-for-linux', kind: '', addresses: [] }] }));
    expect(bad).toEqual({ code: 'INVALID_ARGUMENT', field: 'interfaces', message: expect.stringContaining('interfaces[0].name') });
    const range = await refusal(register({ nodeName: 'n1', advertiseAddr: '198.18.0.11', ephemeralPortFirst: 0, ephemeralPortLast: 40000 }));
    expect(range).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'ephemeral_port_first' });
    expect(await everything()).toEqual(before);
  });

  it.each(([
    ['an unknown driver', network({ name: 'x', driver: 'weave' }), 'INVALID_ARGUMENT', 'driver', 'weave'],
    ['a bridge network without a node', network({ name: 'x', driver: 'bridge' }), 'INVALID_ARGUMENT', 'node', '--node NODE'],
    ['a bridge network on an unknown node', network({ name: 'x', driver: 'bridge', node: 'n9' }), 'NOT_FOUND', 'node', 'n9'],
    ['an overlay network with a node', network({ name: 'x', node: 'n1' }), 'INVALID_ARGUMENT', 'node', 'overlay'],
    ['a bridge network with a vni', network({ name: 'x', driver: 'bridge', node: 'n1', vni: 5000 }), 'INVALID_ARGUMENT', 'vni', 'no VXLAN'],
    ['an unknown option', network({ name: 'x', driver: 'bridge', node: 'n1', options: { speed: 'fast' } }), 'INVALID_ARGUMENT', 'options', 'options.speed'],
    ['macvlan without a parent', network({ name: 'x', driver: 'macvlan', node: 'n1', subnet: '198.18.0.0/24' }), 'INVALID_ARGUMENT', 'parent', 'eth0'],
    ['a parent the node lacks', network({ name: 'x', driver: 'macvlan', node: 'n1', parent: 'eth3', subnet: '198.18.0.0/24' }), 'FAILED_PRECONDITION', 'parent', 'has no interface "eth3"'],
    ['ipvlan on a kernel without it', network({ name: 'x', driver: 'ipvlan', node: 'n1', parent: 'eth0', subnet: '198.18.0.0/24' }), 'FAILED_PRECONDITION', 'driver', 'lacks ipvlan'],
    ['macvlan on a node that reported no link kinds', network({ name: 'x', driver: 'macvlan', node: 'n2', parent: 'eth0', subnet: '198.18.0.0/24' }), 'FAILED_PRECONDITION', 'node', 'link kinds'],
    ['macvlan mode passthru', network({ name: 'x', driver: 'macvlan', node: 'n1', parent: 'eth0', subnet: '198.18.0.0/24', options: { macvlan_mode: 'passthru' } }), 'INVALID_ARGUMENT', 'options', 'bridge or private'],
    ['a bridge overlapping an overlay', network({ name: 'x', driver: 'bridge', node: 'n1', subnet: '10.231.0.0/16' }), 'INVALID_ARGUMENT', 'subnet', 'overlay network "blue"'],
    ['an unknown sandbox network mode', sandbox({ name: 'x', node: 'n1', networkMode: 'bridge' }), 'INVALID_ARGUMENT', 'network_mode', 'network connect'],
    ['netns_from of an unknown sandbox', sandbox({ name: 'x', node: 'n1', netnsFrom: 'ghost' }), 'NOT_FOUND', 'netns_from', 'ghost'],
  ] as const).map(([title, request, code, field, says]) => [title, code, field, request, says] as const))('refuses %s with %s naming %s, and changes nothing', async (_title, code, field, request, says) => {
    const before = await everything();
    const error = await refusal('netnsFrom' in request ? rpc((c) => c.createSandbox, request) : rpc((c) => c.createNetwork, request));
    expect(error).toEqual({ code, field, message: expect.stringContaining(says) });
    expect(error.message).toContain(field);
    expect(await everything()).toEqual(before);
  });

  it('creates bridge and macvlan networks local to their node, with their options stored and every overlap refused', async () => {
    const bridge = await rpc((c) => c.createNetwork, network({ name: 'br', driver: 'bridge', node: 'n1', subnet: '10.50.0.0/24', options: { 'com.docker.network.bridge.enable_icc': 'false' } }));
    expect(bridge).toMatchObject({ driver: 'bridge', node: 'n1', parent: '', options: { icc: 'false' }, vni: 0 });
    const lan = await rpc((c) => c.createNetwork, network({ name: 'lan', driver: 'macvlan', node: 'n1', parent: 'eth0', subnet: '198.18.0.0/24', gateway: '198.18.0.1', ipRange: '198.18.0.128/25' }));
    expect(lan).toMatchObject({ driver: 'macvlan', node: 'n1', parent: 'eth0', options: { macvlan_mode: 'bridge' }, vni: 0 });
    const before = await everything();
    const twin = await refusal(rpc((c) => c.createNetwork, network({ name: 'lan2', driver: 'macvlan', node: 'n1', parent: 'eth0', subnet: '198.18.0.0/25' })));
    expect(twin).toEqual({ code: 'INVALID_ARGUMENT', field: 'subnet', message: expect.stringContaining('network "lan" on the same parent eth0') });
    expect(await everything()).toEqual(before);
  });

  it('connects by the rules of sandbox modes, and publish-all takes distinct ports of the node range', async () => {
    await rpc((c) => c.createSandbox, sandbox({ name: 'app', node: 'n1' }));
    await rpc((c) => c.createSandbox, sandbox({ name: 'app2', node: 'n1' }));
    await rpc((c) => c.createSandbox, sandbox({ name: 'far', node: 'n2' }));
    await rpc((c) => c.createSandbox, sandbox({ name: 'hostnet', node: 'n1', networkMode: 'host' }));
    const side = await rpc((c) => c.createSandbox, sandbox({ name: 'side', node: 'n1', netnsFrom: 'app' }));
    const app = await rpc((c) => c.getSandbox, { sandbox: 'app' });
    expect(side).toMatchObject({ netns: app.netns, netnsFrom: app.id, networkMode: '' });

    const before = await everything();
    const refusals = await Promise.all([
      refusal(rpc((c) => c.connectNetwork, connect({ network: 'br', sandbox: 'far' }))),
      refusal(rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'hostnet', publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }] }))),
      refusal(rpc((c) => c.connectNetwork, connect({ network: 'br', sandbox: 'side' }))),
      refusal(rpc((c) => c.connectNetwork, connect({ network: 'lan', sandbox: 'app', publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }] }))),
      refusal(rpc((c) => c.connectNetwork, connect({ network: 'br', sandbox: 'app', publishAll: true }))),
    ]);
    expect(refusals).toEqual([
      { code: 'FAILED_PRECONDITION', field: 'sandbox', message: expect.stringContaining('local to node "n1"') },
      { code: 'FAILED_PRECONDITION', field: 'published_ports', message: expect.stringContaining('--network host') },
      { code: 'FAILED_PRECONDITION', field: 'sandbox', message: expect.stringContaining('connect "app" instead') },
      { code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining('is macvlan') },
      { code: 'INVALID_ARGUMENT', field: 'publish_all', message: 'publish_all: -P with nothing exposed: add --expose PORT (like --expose 80, or --expose 53/udp)' },
    ]);
    expect(await everything()).toEqual(before);

    const exposing = { publishAll: true, exposedPorts: [{ protocol: '', port: 80 }, { protocol: 'udp', port: 53 }] };
    const first = await rpc((c) => c.connectNetwork, connect({ network: 'br', sandbox: 'app', ...exposing }));
    const second = await rpc((c) => c.connectNetwork, connect({ network: 'br', sandbox: 'app2', ...exposing }));
    expect(first).toMatchObject({ publishAll: true, exposedPorts: [{ protocol: 'tcp', port: 80 }, { protocol: 'udp', port: 53 }] });
    expect([first.publishedPorts, second.publishedPorts]).toEqual([
      [{ protocol: 'tcp', hostPort: 33000, port: 80 }, { protocol: 'udp', hostPort: 33000, port: 53 }],
      [{ protocol: 'tcp', hostPort: 33001, port: 80 }, { protocol: 'udp', hostPort: 33001, port: 53 }],
    ]);
    const macvlanEndpoint = await rpc((c) => c.connectNetwork, connect({ network: 'lan', sandbox: 'app' }));
    expect(macvlanEndpoint.ip).toBe('198.18.0.128');
  });

  it("never chooses a manager's own port for publish-all", async () => {
    const managerPort = Number(manager.address.split(':').pop());
    await register({ nodeName: 'n3', advertiseAddr: '198.18.0.13', ephemeralPortFirst: managerPort, ephemeralPortLast: managerPort + 1 });
    await rpc((c) => c.createNetwork, network({ name: 'br3', driver: 'bridge', node: 'n3', subnet: '10.53.0.0/24' }));
    await rpc((c) => c.createSandbox, sandbox({ name: 'on3', node: 'n3' }));
    const endpoint = await rpc((c) => c.connectNetwork, connect({ network: 'br3', sandbox: 'on3', publishAll: true, exposedPorts: [{ protocol: 'tcp', port: 80 }] }));
    expect(endpoint.publishedPorts).toEqual([{ protocol: 'tcp', hostPort: managerPort + 1, port: 80 }]);
  });

  it('removes two sandboxes sharing a namespace in either order', async () => {
    await rpc((c) => c.removeSandbox, { sandbox: 'app' });
    expect(await rpc((c) => c.getSandbox, { sandbox: 'side' })).toMatchObject({ netnsFrom: expect.any(String) });
    await rpc((c) => c.removeSandbox, { sandbox: 'side' });
    const names = (await rpc((c) => c.listSandboxes, firstPage)).sandboxes.map((each) => each.name);
    expect(names).not.toContain('app');
    expect(names).not.toContain('side');
  });
});
