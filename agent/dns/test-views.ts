import type { EndpointView, NodeView, ServiceView } from '../../proto/gen/trellis/v1/dispatcher';

/*
 * A node "A" on three networks, for the resolver's tests. Local sandboxes: `cli` on front,
 * `both` on front and back, `loner` on lonely. On node B: `db` on front and back (hostname
 * `database`, alias `pg` on front and `db.internal` on back), the backends of the `api` VIP
 * service (api-3 not ready, api-4 draining) and of the `rr` dnsrr service.
 */

export const FRONT = { id: 'n1', name: 'front', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 101, subnet: '10.231.1.0/24', gateway: '10.231.1.1', mtu: 0, internal: false };
export const BACK = { id: 'n2', name: 'back', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 102, subnet: '10.231.2.0/24', gateway: '10.231.2.1', mtu: 0, internal: true };
export const LONELY = { id: 'n3', name: 'lonely', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 103, subnet: '10.231.3.0/24', gateway: '10.231.3.1', mtu: 0, internal: false };

export function endpoint(id: string, parts: Partial<EndpointView>): EndpointView {
  return {
    id, networkId: FRONT.id, sandboxId: `sb-${id}`, nodeId: 'B', vtep: '198.18.0.2', ip: '', prefixLength: 24, mac: '02:42:0a:00:00:01',
    interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
    ...parts,
  };
}

export function service(id: string, name: string, endpointMode: 'vip' | 'dnsrr', vips: { networkId: string; ip: string }[] = []): ServiceView {
  return {
    id, name, endpointMode, ports: [], vips: vips.map((vip) => ({ ...vip, networkName: '' })),
    drainTimeoutSeconds: 30, tcpIdleTimeoutSeconds: 86400, udpIdleTimeoutSeconds: 900, revision: 1,
  };
}

const local = (id: string, sandbox: string, networkId: string, ip: string, interfaceName = 'eth0', parts: Partial<EndpointView> = {}): EndpointView =>
  endpoint(id, { nodeId: 'A', vtep: '198.18.0.1', sandboxId: `sb-${sandbox}`, sandboxName: sandbox, hostname: sandbox, networkId, ip, interfaceName, ...parts });

const db = { sandboxId: 'sb-db', sandboxName: 'db', hostname: 'database' };
const backend = (id: string, networkId: string, ip: string, serviceId: string, parts: Partial<EndpointView> = {}): EndpointView =>
  endpoint(id, { sandboxId: `sb-${parts.sandboxName ?? id}`, sandboxName: id, hostname: id, networkId, ip, serviceId, ...parts });

export const ENDPOINTS: EndpointView[] = [
  local('cli-front', 'cli', FRONT.id, '10.231.1.2'),
  local('both-front', 'both', FRONT.id, '10.231.1.3', 'eth0', { dns: ['192.0.2.53'] }),
  local('both-back', 'both', BACK.id, '10.231.2.3', 'eth1', { dns: ['192.0.2.54', '192.0.2.53'] }),
  local('loner-lonely', 'loner', LONELY.id, '10.231.3.2'),
  endpoint('db-front', { ...db, networkId: FRONT.id, ip: '10.231.1.10', aliases: ['pg'] }),
  endpoint('db-back', { ...db, networkId: BACK.id, ip: '10.231.2.10', aliases: ['DB.Internal'] }),
  backend('api-1-front', FRONT.id, '10.231.1.21', 'svc-api', { sandboxName: 'api-1' }),
  backend('api-1-back', BACK.id, '10.231.2.21', 'svc-api', { sandboxName: 'api-1' }),
  backend('api-2-front', FRONT.id, '10.231.1.22', 'svc-api', { sandboxName: 'api-2' }),
  backend('api-3-front', FRONT.id, '10.231.1.23', 'svc-api', { sandboxName: 'api-3' }),
  backend('api-4-front', FRONT.id, '10.231.1.24', 'svc-api', { sandboxName: 'api-4', draining: true }),
  backend('rr-1', FRONT.id, '10.231.1.31', 'svc-rr'),
  backend('rr-2', FRONT.id, '10.231.1.32', 'svc-rr'),
];

export const SERVICES: ServiceView[] = [
  service('svc-api', 'api', 'vip', [
    { networkId: FRONT.id, ip: '10.231.1.100' },
    { networkId: BACK.id, ip: '10.231.2.100' },
  ]),
  service('svc-rr', 'rr', 'dnsrr'),
];

/** Every endpoint is ready except api-3's. */
export const READY: ReadonlySet<string> = new Set(ENDPOINTS.map((candidate) => candidate.id).filter((id) => id !== 'api-3-front'));

export function testView(parts: Partial<NodeView> = {}): NodeView {
  return {
    revision: 1, nodeId: 'A', nodeName: 'a', advertiseAddr: '198.18.0.1',
    networks: [FRONT, BACK, LONELY],
    sandboxes: ['cli', 'both', 'loner'].map((name) => ({ id: `sb-${name}`, name, netnsName: `trsb-${name}`, networkMode: '', sharesNetns: false, netnsPath: '' })),
    endpoints: ENDPOINTS,
    members: [], overlaySubnets: [FRONT.subnet, BACK.subnet, LONELY.subnet],
    services: SERVICES,
    ...parts,
  };
}

export const CLI = { netnsName: 'trsb-cli' };
export const BOTH = { netnsName: 'trsb-both' };
export const LONER = { netnsName: 'trsb-loner' };
