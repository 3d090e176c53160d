/** A random call of any Control RPC, with random, edge and plausible values in every request field. */
import fc from 'fast-check';
import type { ControlClient } from '../../proto/gen/trellis/v1/control';
import { callUnary, type UnaryMethod } from '../../proto/runtime/unary-call';
import {
  bool,
  connection,
  existing,
  field,
  fixed,
  ipv4,
  list,
  mac,
  octet,
  pool,
  protocol,
  record,
  reference,
  stringMap,
  subnet,
  uint32,
  wildString,
  type Gen,
  type Known,
} from './values';

export interface FuzzCall {
  rpc: string;
  /** whether an accepted call may change the store */
  mutates: boolean;
  prepare: (known: Known) => PreparedCall;
}

export interface PreparedCall {
  request: unknown;
  send: (client: ControlClient, timeoutMs: number) => Promise<unknown>;
}

function rpc<Req, Res>(
  name: string,
  pick: (client: ControlClient) => UnaryMethod<Req, Res>,
  request: Gen<Req>,
  mutates: boolean,
): { rpc: string; arbitrary: fc.Arbitrary<FuzzCall> } {
  const arbitrary = request.map((make) => ({
    rpc: name,
    mutates,
    prepare: (known: Known) => {
      const built = make(known);
      return { request: built, send: (client: ControlClient, timeoutMs: number) => callUnary(client, pick, built, timeoutMs) };
    },
  }));
  return { rpc: name, arbitrary };
}

const networkNames = pool('net-', 40);
const sandboxNames = pool('sb-', 40);
const serviceNames = pool('svc-', 20);
const nodeNames = fc.constantFrom('n1', 'n2');

const network = reference('networks', networkNames);
const sandbox = reference('sandboxes', sandboxNames);
const service = reference('services', serviceNames);
const node = reference('nodes', nodeNames);
const labels = stringMap(field(fc.constantFrom('x', 'blue', 'prod')));
const address = field(ipv4);
const hugeShort = fc.constantFrom('a', '10.0.0.1', 'h:10.0.0.1');

const ipam = record({
  subnet: field(subnet),
  gateway: address,
  ipRange: field(subnet),
  auxAddresses: stringMap(address),
});
const publishedPort = record({ protocol: field(protocol), hostPort: uint32, port: uint32 });
const portConfig = record({ protocol: field(protocol), targetPort: uint32, publishedPort: uint32, publishMode: field(fc.constantFrom('ingress', 'host')) });
const hugePublishedPort = fc.nat({ max: 65_535 }).map((port) => ({ protocol: 'tcp', hostPort: port, port }));
const hugePortConfig = fc.nat({ max: 65_535 }).map((port) => ({ protocol: 'tcp', targetPort: port, publishedPort: 0, publishMode: 'ingress' }));
const hugeExposedPort = fc.nat({ max: 65_535 }).map((port) => ({ protocol: 'udp', port }));
const exposedPort = record({ protocol: field(protocol), port: uint32 });
/** Network.parent: the fuzz nodes' own eth0, a VLAN of it (ids in and out of 1-4094), and names Linux refuses. */
const parentName = field(fc.constantFrom('eth0', 'eth0.42', 'eth0.4095', 'eth7', 'lo', 'a/b', 'sixteen-chars-xx'));
/** Driver options: each driver's keys (and Docker's name for icc) with their values, others' keys, and junk. */
const driverOptions: Gen<Record<string, string>> = fc.oneof(
  fixed(
    fc.dictionary(
      fc.constantFrom('icc', 'com.docker.network.bridge.enable_icc', 'macvlan_mode', 'ipvlan_mode', 'mtu', '__proto__'),
      fc.constantFrom('true', 'false', 'bridge', 'private', 'vepa', 'passthru', 'l2', 'l3', 'l3s', ''),
      { maxKeys: 3 },
    ),
  ),
  stringMap(field(fc.constantFrom('true', 'l2'))),
);
const hugeIpam = fc.tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 })).map(([a, b]) => ({ subnet: `10.${a}.${b}.0/24`, gateway: '', ipRange: '', auxAddresses: {} }));

/** Half the time a request shaped to be accepted (so the store grows), else anything in every field. */
function plausibleOrWild<T>(plausible: Gen<T>, wild: Gen<T>): Gen<T> {
  return fc.oneof(plausible, wild);
}

const none = <T>(value: T): Gen<T> => fixed(fc.constant(value));
/** A list call's page: the first, a later one (base64url of "v1:net-1"), or anything. */
const page = record({ pageSize: uint32, pageToken: field(fc.constantFrom('', 'djE6bmV0LTE')) });
const smallLabels = fixed(fc.dictionary(fc.constantFrom('env', 'team', 'tier'), fc.constantFrom('prod', 'blue', ''), { maxKeys: 3 }));
const validPort = fc.integer({ min: 1024, max: 65_535 });

/** A network local to a node: a bridge (accepted), or macvlan/ipvlan on the first fuzz node's eth0 (accepted where its kernel has the driver). */
const localNetwork = record({
  name: fixed(networkNames),
  driver: fixed(fc.constantFrom('bridge', 'bridge', 'macvlan', 'ipvlan')),
  subnet: fixed(fc.tuple(octet, octet).map(([a, b]) => `10.${a}.${b}.0/24`)),
  gateway: none(''),
  ipRange: none(''),
  ipam: none([]),
  internal: bool,
  attachable: bool,
  mtu: none(0),
  labels: smallLabels,
  vni: none(0),
  node: existing('nodes'),
  parent: fixed(fc.constantFrom('', 'eth0', 'eth0.42')),
  options: fixed(fc.constantFrom({}, { icc: 'false' }, { macvlan_mode: 'private' }, { ipvlan_mode: 'l3' })),
});

const createNetwork = plausibleOrWild(
  record({
    name: fixed(networkNames),
    driver: fixed(fc.constantFrom('overlay', '')),
    subnet: fixed(fc.oneof(fc.constant(''), subnet)),
    gateway: none(''),
    ipRange: none(''),
    ipam: none([]),
    internal: bool,
    attachable: bool,
    mtu: fixed(fc.oneof(fc.constant(0), fc.integer({ min: 1280, max: 9000 }))),
    labels: smallLabels,
    vni: fixed(fc.oneof(fc.constant(0), fc.integer({ min: 4096, max: 16_777_215 }))),
    node: none(''),
    parent: none(''),
    options: none({}),
  }),
  record({
    name: field(networkNames),
    driver: field(fc.constantFrom('overlay', '', 'bridge', 'macvlan', 'ipvlan', 'host')),
    subnet: fc.oneof(none(''), field(subnet)),
    gateway: fc.oneof(none(''), address),
    ipRange: fc.oneof(none(''), field(subnet)),
    ipam: list(ipam, hugeIpam),
    internal: bool,
    attachable: bool,
    mtu: fc.oneof(none(0), uint32),
    labels,
    vni: fc.oneof(none(0), uint32),
    node: fc.oneof(none(''), node),
    parent: fc.oneof(none(''), parentName),
    options: fc.oneof(none({}), driverOptions),
  }),
);
const createAnyNetwork = fc.oneof({ weight: 2, arbitrary: createNetwork }, { weight: 1, arbitrary: localNetwork });

const createSandbox = plausibleOrWild(
  fc.oneof(
    { weight: 3, arbitrary: record({ name: fixed(sandboxNames), node: existing('nodes'), netns: none(''), networkMode: fixed(fc.constantFrom('', '', 'none', 'host')), netnsFrom: none('') }) },
    // Sharing a sandbox's namespace: accepted when the node drawn is that sandbox's.
    { weight: 1, arbitrary: record({ name: fixed(sandboxNames), node: existing('nodes'), netns: none(''), networkMode: none(''), netnsFrom: existing('sandboxes') }) },
  ),
  record({
    name: field(sandboxNames),
    node,
    netns: fc.oneof(
      none(''),
      field(fc.constantFrom('/run/netns/fuzz', '/proc/1/ns/net', '/run/netns/trnw-0a1b2c', '/run/netns/trsb-0a1b2c', '/run/netns/../../etc/passwd', 'relative')),
    ),
    networkMode: fc.oneof(none(''), field(fc.constantFrom('none', 'host', 'bridge', 'container:sb-0'))),
    netnsFrom: fc.oneof(none(''), sandbox),
  }),
);

const connectNetwork = plausibleOrWild(
  record({
    network: existing('networks'),
    sandbox: existing('sandboxes'),
    ip: none(''),
    aliases: fixed(fc.array(fc.constantFrom('www', 'db', 'api.example'), { maxLength: 2 })),
    mac: none(''),
    hostname: none(''),
    extraHosts: none([]),
    dns: none([]),
    service: fc.oneof(none(''), existing('services')),
    publishedPorts: fixed(fc.array(fc.tuple(protocol, validPort, validPort).map(([p, hostPort, port]) => ({ protocol: p, hostPort, port })), { maxLength: 1 })),
    publishAll: bool,
    exposedPorts: fixed(fc.array(fc.tuple(fc.constantFrom('tcp', 'udp', ''), validPort).map(([p, port]) => ({ protocol: p, port })), { maxLength: 2 })),
  }),
  record({
    network,
    sandbox,
    ip: fc.oneof(none(''), address),
    aliases: list(field(fc.constantFrom('www', 'db', 'api.example')), hugeShort),
    mac: fc.oneof(none(''), field(mac)),
    hostname: fc.oneof(none(''), field(fc.constantFrom('web', 'host-1'))),
    extraHosts: list(field(ipv4.map((ip) => `db:${ip}`)), hugeShort),
    dns: list(address, hugeShort),
    service: fc.oneof(none(''), service),
    publishedPorts: list(publishedPort, hugePublishedPort),
    publishAll: bool,
    exposedPorts: list(exposedPort, hugeExposedPort),
  }),
);

const updateNode = plausibleOrWild(
  record({ node: existing('nodes'), availability: fixed(fc.constantFrom('', 'active', 'drain')), labelAdd: smallLabels, labelRm: none([]) }),
  record({
    node,
    availability: fc.oneof(none(''), field(fc.constantFrom('active', 'drain', 'pause'))),
    labelAdd: labels,
    labelRm: list(field(fc.constantFrom('env', 'team', 'toString', '__proto__')), hugeShort),
  }),
);

/*
 * No drains: a drain ending in the background between two looks at the store would pass for a
 * change made by a refused request. Services drain 0 s, and updates set no other valid drain timeout.
 */
const noDrain = none(0);

const createService = plausibleOrWild(
  record({
    name: fixed(serviceNames),
    networks: existing('networks').map((make) => (known: Known) => [make(known)]),
    endpointMode: fixed(fc.constantFrom('', 'vip', 'dnsrr')),
    ports: fixed(fc.array(validPort.map((port) => ({ protocol: 'tcp', targetPort: port, publishedPort: 0, publishMode: 'ingress' })), { maxLength: 1 })),
    labels: smallLabels,
    drainTimeoutSeconds: noDrain,
  }),
  record({
    name: field(serviceNames),
    networks: list(network, fc.constant('net-0')),
    endpointMode: fc.oneof(none(''), field(fc.constantFrom('vip', 'dnsrr'))),
    ports: list(portConfig, hugePortConfig),
    labels,
    drainTimeoutSeconds: noDrain,
  }),
);

const idleTimeout = fc.oneof(none(undefined), uint32);
const updateService = plausibleOrWild(
  record({
    service: existing('services'),
    publishAdd: fixed(fc.array(validPort.map((port) => ({ protocol: 'tcp', targetPort: port, publishedPort: 0, publishMode: 'ingress' })), { maxLength: 1 })),
    publishRm: none([]),
    drainTimeoutSeconds: fixed(fc.constantFrom(undefined, 0)),
    tcpIdleTimeoutSeconds: none(undefined),
    udpIdleTimeoutSeconds: none(undefined),
  }),
  record({
    service,
    publishAdd: list(portConfig, hugePortConfig),
    publishRm: list(portConfig, hugePortConfig),
    drainTimeoutSeconds: fixed(fc.constantFrom(undefined, 0, 86_401, 2 ** 32 - 1)),
    tcpIdleTimeoutSeconds: idleTimeout,
    udpIdleTimeoutSeconds: idleTimeout,
  }),
);

const calls: Array<{ weight: number; rpc: string; arbitrary: fc.Arbitrary<FuzzCall> }> = [
  { weight: 14, ...rpc('CreateNetwork', (c) => c.createNetwork, createAnyNetwork, true) },
  { weight: 3, ...rpc('ListNetworks', (c) => c.listNetworks, page, false) },
  { weight: 4, ...rpc('GetNetwork', (c) => c.getNetwork, record({ network }), false) },
  { weight: 4, ...rpc('RemoveNetwork', (c) => c.removeNetwork, record({ network }), true) },
  { weight: 12, ...rpc('CreateSandbox', (c) => c.createSandbox, createSandbox, true) },
  { weight: 3, ...rpc('ListSandboxes', (c) => c.listSandboxes, page, false) },
  { weight: 4, ...rpc('GetSandbox', (c) => c.getSandbox, record({ sandbox }), false) },
  { weight: 4, ...rpc('RemoveSandbox', (c) => c.removeSandbox, record({ sandbox }), true) },
  { weight: 16, ...rpc('ConnectNetwork', (c) => c.connectNetwork, connectNetwork, true) },
  {
    weight: 5,
    ...rpc('DisconnectNetwork', (c) => c.disconnectNetwork, plausibleOrWild(connection.map((make) => (known: Known) => ({ ...make(known), force: false })), record({ network, sandbox, force: bool })), true),
  },
  { weight: 2, ...rpc('ListNodes', (c) => c.listNodes, page, false) },
  { weight: 3, ...rpc('GetNode', (c) => c.getNode, record({ node }), false) },
  { weight: 6, ...rpc('UpdateNode', (c) => c.updateNode, updateNode, true) },
  { weight: 2, ...rpc('RemoveNode', (c) => c.removeNode, record({ node, force: bool }), true) },
  { weight: 8, ...rpc('CreateService', (c) => c.createService, createService, true) },
  { weight: 2, ...rpc('ListServices', (c) => c.listServices, page, false) },
  { weight: 3, ...rpc('GetService', (c) => c.getService, record({ service }), false) },
  { weight: 3, ...rpc('RemoveService', (c) => c.removeService, record({ service }), true) },
  { weight: 4, ...rpc('UpdateService', (c) => c.updateService, updateService, true) },
  { weight: 2, ...rpc('ListManagers', (c) => c.listManagers, none({}), false) },
  {
    weight: 1,
    ...rpc(
      'RemoveManager',
      (c) => c.removeManager,
      // The only manager is the last voter: removing it must be refused, by id, by '' (the answering one) or a wrong id.
      fc.oneof(
        fc.nat().map((index) => (known: Known) => ({ id: known.managers[index % Math.max(1, known.managers.length)]?.id ?? '' })),
        record({ id: wildString }),
      ),
      true,
    ),
  },
  { weight: 1, ...rpc('GetJoinTokens', (c) => c.getJoinTokens, none({}), false) },
  { weight: 2, ...rpc('RotateJoinToken', (c) => c.rotateJoinToken, record({ role: field(fc.constantFrom('worker', 'manager')) }), true) },
  { weight: 1, ...rpc('GetRootCa', (c) => c.getRootCa, none({}), false) },
  // Requests that are not CSRs: refused before a rotation starts. The first rotation without one is
  // accepted, and the later ones refused while it waits for nodes that have no agent to renew.
  { weight: 1, ...rpc('RotateRootCa', (c) => c.rotateRootCa, record({ adminCsrPem: field(fc.constantFrom('', '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n')) }), true) },
  { weight: 1, ...rpc('UpdateCluster', (c) => c.updateCluster, record({ autolock: fc.constantFrom(undefined, true, false).map((value) => () => value) }), true) },
  { weight: 1, ...rpc('GetUnlockKey', (c) => c.getUnlockKey, none({}), false) },
  { weight: 1, ...rpc('RotateUnlockKey', (c) => c.rotateUnlockKey, none({}), true) },
  { weight: 1, ...rpc('UnlockManager', (c) => c.unlockManager, record({ unlockKey: field(fc.constantFrom('', 'TRLSKEY-1-aaaa')) }), false) },
  { weight: 1, ...rpc('GetVersion', (c) => c.getVersion, none({}), false) },
];

export const anyCall: fc.Arbitrary<FuzzCall> = fc.oneof(...calls);

/** Every RPC the service has, so the test can check none was left out. */
export const fuzzedRpcs: readonly string[] = calls.map((call) => call.rpc);
