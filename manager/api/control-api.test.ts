import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConnectNetworkRequest,
  ControlClient,
  CreateNetworkRequest,
  CreateServiceRequest,
  ListNetworksRequest,
  UpdateNodeRequest,
  type GetSandboxRequest,
} from '../../proto/gen/trellis/v1/control';
import { NodeStatus, type Sandbox } from '../../proto/gen/trellis/v1/types';
import { DispatcherClient, RegisterRequest } from '../../proto/gen/trellis/v1/dispatcher';
import { callUnary, type UnaryMethod } from '../../proto/runtime/unary-call';
import { refused } from './refused';
import type { RunningManager } from '../daemon';
import { startApiManager, stopApiManager } from './test-api-manager';

/** The Control API over real gRPC on loopback, with the log on a real disk. */
type Call<Req, Res> = (request: Req, metadata: Metadata, callback: (error: ServiceError | null, response: Res) => void) => unknown;

function call<Req, Res>(method: Call<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => method(request, new Metadata(), (error, response) => (error ? reject(error) : resolve(response))));
}

const firstPage = { pageSize: 0, pageToken: '' };

async function refusal(promise: Promise<unknown>): Promise<{ code: string; field: string; message: string }> {
  const error = await refused(promise);
  return { code: status[error.code], field: String(error.metadata.get('trellis-field')[0] ?? ''), message: error.details };
}

describe('Control API', () => {
  let dataDir: string;
  let manager: RunningManager;
  let control: ControlClient;
  let dispatcher: DispatcherClient;

  /** A typed call: the method is picked the way the CLI picks it, so request and reply types follow. */
  const rpc = <Req, Res>(pick: (client: ControlClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> =>
    callUnary(control, pick, request, 10_000);

  async function start(): Promise<void> {
    ({ manager, control, dispatcher } = await startApiManager(dataDir, { metricsListen: '127.0.0.1:0' }));
  }
  const stop = () => stopApiManager({ manager, control, dispatcher });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-api-'));
    await start();
    await call(dispatcher.register.bind(dispatcher), RegisterRequest.fromPartial({ nodeName: 'n1', advertiseAddr: '198.18.0.11' }));
    await call(control.createNetwork.bind(control), CreateNetworkRequest.fromPartial({ name: 'blue', driver: 'overlay', subnet: '10.231.0.0/24' }));
    await call(control.createSandbox.bind(control), { name: 'web', node: 'n1', netns: '', networkMode: '', netnsFrom: '' });
    await call(control.connectNetwork.bind(control), ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: 'web', aliases: ['www'] }));
  });
  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the sandbox namespace path and its endpoint with IP and MAC', async () => {
    const sandbox = await call<GetSandboxRequest, Sandbox>(control.getSandbox.bind(control), { sandbox: 'web' });
    expect(sandbox.netns).toMatch(/^\/run\/netns\/trsb-[0-9a-f]{10}$/);
    expect(sandbox.endpoints).toEqual([
      expect.objectContaining({ networkName: 'blue', ip: '10.231.0.2', mac: '02:42:0a:e7:00:02', aliases: ['www'], interfaceName: 'eth0' }),
    ]);
  });

  const network = CreateNetworkRequest.fromPartial;
  const connect = ConnectNetworkRequest.fromPartial;
  const service = CreateServiceRequest.fromPartial;
  it.each([
    ['createNetwork', network({ name: 'bad', subnet: 'not-a-cidr' }), 'INVALID_ARGUMENT', 'subnet'],
    ['createNetwork', network({ name: 'bad', subnet: '10.232.0.0/24', gateway: '10.1.1.1' }), 'INVALID_ARGUMENT', 'gateway'],
    ['createNetwork', network({ name: 'blue', subnet: '10.233.0.0/24' }), 'ALREADY_EXISTS', 'name'],
    ['createNetwork', network({ name: 'bad', subnet: '10.234.0.0/24', ipam: [{ subnet: '10.235.0.0/24' }] }), 'INVALID_ARGUMENT', 'ipam'],
    ['createNetwork', network({ name: 'bad', mtu: 100 }), 'INVALID_ARGUMENT', 'mtu'],
    ['connectNetwork', connect({ network: 'nope', sandbox: 'web' }), 'NOT_FOUND', 'network'],
    ['connectNetwork', connect({ network: 'blue', sandbox: 'web', mac: 'zz' }), 'ALREADY_EXISTS', 'sandbox'],
    ['removeNetwork', { network: 'blue' }, 'FAILED_PRECONDITION', 'network'],
    ['getNetwork', { network: 'nope' }, 'NOT_FOUND', 'network'],
    ['createSandbox', { name: 'db', node: 'nope', netns: '', networkMode: '', netnsFrom: '' }, 'NOT_FOUND', 'node'],
    ['createSandbox', { name: 'db', node: 'n1', netns: '/var/run/docker/netns/abc', networkMode: '', netnsFrom: '' }, 'INVALID_ARGUMENT', 'netns'],
    ['getNode', { node: 'nope' }, 'NOT_FOUND', 'node'],
    ['updateNode', UpdateNodeRequest.fromPartial({ node: 'n1', availability: 'sleepy' }), 'INVALID_ARGUMENT', 'availability'],
    ['removeNode', { node: 'n1', force: false }, 'FAILED_PRECONDITION', 'node'],
    ['removeNode', { node: 'nope', force: true }, 'NOT_FOUND', 'node'],
    ['createService', service({ name: 'api', networks: ['nope'] }), 'NOT_FOUND', 'networks'],
    ['createService', service({ name: 'api', networks: ['blue'], endpointMode: 'dnsrr', ports: [{ targetPort: 80 }] }), 'INVALID_ARGUMENT', 'ports'],
    ['getService', { service: 'nope' }, 'NOT_FOUND', 'service'],
    ['removeService', { service: 'nope' }, 'NOT_FOUND', 'service'],
    ['listNetworks', { pageSize: 0, pageToken: 'not-a-token' }, 'INVALID_ARGUMENT', 'page_token'],
    ['listSandboxes', { pageSize: 0, pageToken: Buffer.from('blue').toString('base64url') }, 'INVALID_ARGUMENT', 'page_token'],
    ['listNodes', { pageSize: 501, pageToken: '' }, 'INVALID_ARGUMENT', 'page_size'],
    ['listServices', { pageSize: 4294967295, pageToken: '' }, 'INVALID_ARGUMENT', 'page_size'],
  ] as const)('%s refuses bad input with %s naming %s, and changes nothing', async (method, request, code, field) => {
    const before = await call(control.listNetworks.bind(control), firstPage);
    const handler = (control[method] as unknown as Call<typeof request, unknown>).bind(control);
    const error = await refusal(call(handler, request));
    expect(error).toEqual({ code, field, message: expect.stringContaining(field) });
    expect(await call(control.listNetworks.bind(control), firstPage)).toEqual(before);
  });

  it('creates a network from the default address pool with its options', async () => {
    const created = await rpc((c) => c.createNetwork,
      network({ name: 'pooled', mtu: 1400, internal: true, labels: { team: 'db' }, ipam: [] }),
    );
    expect(created).toMatchObject({ subnet: '10.0.0.0/24', gateway: '10.0.0.1', mtu: 1400, internal: true, labels: { team: 'db' } });
    await rpc((c) => c.removeNetwork, { network: 'pooled' });
  });

  it('refuses to remove a ready node unless forced, naming force', async () => {
    const { nodeId } = await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'n2', advertiseAddr: '198.18.0.12' }), 10_000);
    const session = dispatcher.session();
    session.on('error', () => undefined);
    session.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: false, gossipPublicKey: '' } } });
    try {
      for (let tries = 0; (await rpc((c) => c.getNode, { node: 'n2' })).status !== NodeStatus.NODE_STATUS_READY; tries++) {
        if (tries > 50) throw new Error('n2 never became ready');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const error = await refusal(rpc((c) => c.removeNode, { node: 'n2', force: false }));
      expect(error).toEqual({ code: 'FAILED_PRECONDITION', field: 'force', message: expect.stringContaining('--force') });
      await rpc((c) => c.removeNode, { node: 'n2', force: true });
      expect((await refusal(rpc((c) => c.getNode, { node: nodeId }))).code).toBe('NOT_FOUND');
    } finally {
      session.cancel();
    }
  });

  it('updates availability and labels; a drained node takes no new sandbox', async () => {
    const updated = await rpc((c) => c.updateNode,
      UpdateNodeRequest.fromPartial({ node: 'n1', availability: 'drain', labelAdd: { zone: 'a', rack: '1' } }),
    );
    expect(updated).toMatchObject({ name: 'n1', availability: 'drain', labels: { rack: '1', zone: 'a' } });
    expect((await refusal(rpc((c) => c.createSandbox, { name: 'late', node: 'n1', netns: '', networkMode: '', netnsFrom: '' }))).field).toBe('node');
    const restored = await rpc((c) => c.updateNode, UpdateNodeRequest.fromPartial({ node: 'n1', availability: 'active', labelRm: ['rack'] }));
    expect(restored).toMatchObject({ availability: 'active', labels: { zone: 'a' } });
  });

  it('gives a vip service a VIP per network and lists its backends', async () => {
    const created = await rpc((c) => c.createService, service({ name: 'api', networks: ['blue'], ports: [{ targetPort: 80, publishedPort: 8080 }] }));
    expect(created.vips).toEqual([{ networkId: expect.any(String), networkName: 'blue', ip: '10.231.0.3' }]);
    expect(created.ports).toEqual([{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' }]);
    await rpc((c) => c.createSandbox, { name: 'api-1', node: 'n1', netns: '', networkMode: '', netnsFrom: '' });
    const backend = await rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'api-1', service: 'api' }));
    expect(backend).toMatchObject({ ip: '10.231.0.4', serviceName: 'api', hostname: 'api-1' });
    expect((await rpc((c) => c.getService, { service: 'api' })).backends.map((endpoint) => endpoint.sandboxName)).toEqual(['api-1']);
    expect(await refusal(rpc((c) => c.removeService, { service: 'api' }))).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'service' });
    // Its backend drains first (30 s by default): the sandbox stays, being removed, until the drain ends or is cut short.
    await rpc((c) => c.removeSandbox, { sandbox: 'api-1' });
    expect(await rpc((c) => c.getSandbox, { sandbox: 'api-1' })).toMatchObject({ removing: true, endpoints: [expect.objectContaining({ draining: true })] });
    await rpc((c) => c.disconnectNetwork, { network: 'blue', sandbox: 'api-1', force: true });
    expect((await refusal(rpc((c) => c.getSandbox, { sandbox: 'api-1' }))).code).toBe('NOT_FOUND');
    await rpc((c) => c.removeService, { service: 'api' });
    expect((await rpc((c) => c.listServices, { pageSize: 0, pageToken: '' })).services).toEqual([]);
  });

  it('publishes ports of the node through connect, one endpoint per host port; the restart below keeps them', async () => {
    await rpc((c) => c.createSandbox, { name: 'proxy', node: 'n1', netns: '', networkMode: '', netnsFrom: '' });
    await rpc((c) => c.createSandbox, { name: 'proxy-2', node: 'n1', netns: '', networkMode: '', netnsFrom: '' });
    const endpoint = await rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'proxy', publishedPorts: [{ protocol: '', hostPort: 8080, port: 80 }] }));
    expect(endpoint.publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 8080, port: 80 }]);
    const clash = await refusal(rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'proxy-2', publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 8000 }] })));
    expect(clash).toEqual({ code: 'ALREADY_EXISTS', field: 'published_ports', message: expect.stringContaining('sandbox "proxy"') });
    const invalid = await refusal(rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'proxy-2', publishedPorts: [{ protocol: 'tcp', hostPort: 70000, port: 80 }] })));
    expect(invalid).toEqual({ code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining('published_ports[0].host_port') });
    expect((await rpc((c) => c.getSandbox, { sandbox: 'proxy-2' })).endpoints).toEqual([]);
  });

  it("refuses publishing the VXLAN port, the managers' own ports and a node's reserved ports, naming what uses them", async () => {
    await rpc((c) => c.createSandbox, { name: 'pub', node: 'n1', netns: '', networkMode: '', netnsFrom: '' });
    const managerPort = Number(manager.address.split(':').pop());
    const metricsPort = Number(manager.metricsAddress?.split(':').pop());
    const publishing = (protocol: string, hostPort: number) =>
      refusal(rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'pub', publishedPorts: [{ protocol, hostPort, port: 80 }] })));
    expect(await publishing('udp', 4789)).toEqual({
      code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining("4789/udp is the VXLAN port of this cluster (every node's overlay traffic arrives on it); publish another port"),
    });
    expect(await publishing('tcp', managerPort)).toEqual({
      code: 'INVALID_ARGUMENT', field: 'published_ports', message: `published_ports: ${managerPort}/tcp is the port of manager ${manager.address} (its gRPC API and Raft); publish another port`,
    });
    expect(await publishing('', metricsPort)).toEqual({
      code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining(`${metricsPort}/tcp is the metrics port of manager`),
    });
    // This test's manager runs its gossip DHT node on any free port, not 4790: that port is refused too.
    expect(await publishing('udp', manager.gossipDht.port)).toEqual({
      code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining(`${manager.gossipDht.port}/udp is the gossip DHT port of the managers`),
    });
    expect(await publishing('udp', 4790)).toEqual({
      code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining("4790/udp is the gossip DHT port of this cluster's managers"),
    });
    const servicePort = await refusal(rpc((c) => c.createService, service({ name: 'svc', networks: ['blue'], ports: [{ targetPort: 80, publishedPort: managerPort, publishMode: 'host' }] })));
    expect(servicePort).toEqual({ code: 'INVALID_ARGUMENT', field: 'ports', message: expect.stringContaining(`ports: ${managerPort}/tcp is the port of manager`) });

    // An agent reports its own reserved ports (and its gateway subnet) when it registers.
    const reporting = RegisterRequest.fromPartial({
      nodeName: 'n1', advertiseAddr: '198.18.0.11', gatewaySubnet: '172.29.0.0/16', reservedPorts: [{ protocol: 'tcp', port: 9100, reason: "the agent's metrics port" }],
    });
    await call(dispatcher.register.bind(dispatcher), reporting);
    expect(await rpc((c) => c.getNode, { node: 'n1' })).toMatchObject({ gatewaySubnet: '172.29.0.0/16', reservedPorts: [{ protocol: 'tcp', port: 9100, reason: "the agent's metrics port" }] });
    expect(await publishing('tcp', 9100)).toEqual({
      code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining('9100/tcp is reserved on node "n1" (the agent\'s metrics port)'),
    });
    const inGateway = await refusal(rpc((c) => c.createNetwork, network({ name: 'gw', subnet: '172.29.8.0/24' })));
    expect(inGateway).toEqual({ code: 'INVALID_ARGUMENT', field: 'subnet', message: expect.stringContaining('gateway subnet of node "n1"') });
    const overlapping = await refusal(call(dispatcher.register.bind(dispatcher), RegisterRequest.fromPartial({ nodeName: 'n7', advertiseAddr: '198.18.0.17', gatewaySubnet: '10.231.0.0/16' })));
    expect(overlapping).toEqual({ code: 'FAILED_PRECONDITION', field: 'gateway_subnet', message: expect.stringContaining('network "blue"') });
    expect((await rpc((c) => c.getSandbox, { sandbox: 'pub' })).endpoints).toEqual([]);
    await rpc((c) => c.removeSandbox, { sandbox: 'pub' });
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['0.0.0.0', '"this network"'],
    ['239.0.0.1', 'multicast'],
    ['255.255.255.255', 'limited broadcast'],
  ])('refuses a node advertising %s, saying why', async (advertiseAddr, why) => {
    const error = await refusal(call(dispatcher.register.bind(dispatcher), RegisterRequest.fromPartial({ nodeName: 'n9', advertiseAddr })));
    expect(error).toEqual({ code: 'INVALID_ARGUMENT', field: 'advertise_addr', message: expect.stringContaining(why) });
    expect((await refusal(rpc((c) => c.getNode, { node: 'n9' }))).code).toBe('NOT_FOUND');
  });

  it('refuses a 200,000-alias endpoint and values out of range the wire can carry, changing nothing', async () => {
    await rpc((c) => c.createSandbox, { name: 'alias-hog', node: 'n1', netns: '', networkMode: '', netnsFrom: '' });
    const aliases = Array.from({ length: 200_000 }, (_, i) => `a${i}`);
    const hog = await refusal(rpc((c) => c.connectNetwork, connect({ network: 'blue', sandbox: 'alias-hog', aliases })));
    expect(hog).toEqual({ code: 'INVALID_ARGUMENT', field: 'aliases', message: expect.stringContaining('aliases: at most 64 per endpoint, got 200000') });
    expect((await rpc((c) => c.getSandbox, { sandbox: 'alias-hog' })).endpoints).toEqual([]);
    const vni = await refusal(rpc((c) => c.createNetwork, network({ name: 'big', subnet: '10.240.0.0/24', vni: 2 ** 32 - 1 })));
    expect(vni).toEqual({ code: 'INVALID_ARGUMENT', field: 'vni', message: expect.stringContaining('4294967295 is out of range') });
    const mtu = await refusal(rpc((c) => c.createNetwork, network({ name: 'big', subnet: '10.240.0.0/24', mtu: 2 ** 32 - 1 })));
    expect(mtu).toEqual({ code: 'INVALID_ARGUMENT', field: 'mtu', message: expect.stringContaining('4294967295 is out of range') });
    expect((await rpc((c) => c.listNetworks, ListNetworksRequest.fromPartial({}))).networks.map((n) => n.name)).not.toContain('big');
    await rpc((c) => c.removeSandbox, { sandbox: 'alias-hog' });
  });

  it('removes a label named like an Object property without mistaking it for an added one', async () => {
    const updated = await rpc((c) => c.updateNode, UpdateNodeRequest.fromPartial({ node: 'n1', labelRm: ['toString', 'constructor'] }));
    expect(updated.name).toBe('n1');
  });

  it('passes the namespace to adopt through; the restart below keeps it', async () => {
    const adopted = await rpc((c) => c.createSandbox, { name: 'runc-1', node: 'n1', netns: '/proc/4242/ns/net', networkMode: '', netnsFrom: '' });
    expect(adopted).toMatchObject({ netns: '/proc/4242/ns/net', adopted: true });
  });

  it('keeps every acknowledged write across a restart', async () => {
    const before = await call(control.listNetworks.bind(control), firstPage);
    const sandboxes = await call(control.listSandboxes.bind(control), firstPage);
    await stop();
    await start();
    expect(await call(control.listNetworks.bind(control), firstPage)).toEqual(before);
    expect(await call(control.listSandboxes.bind(control), firstPage)).toEqual(sandboxes);
  });
});
