import type { Command, Connect, CreateNetwork, CreateSandbox, CreateService, RegisterNode } from './commands';
import type { Store } from './store';
import { must, twoNodeStore, type RefusedCase } from './test-fixtures';

const network = (fields: Partial<CreateNetwork>): CreateNetwork => ({
  type: 'createNetwork',
  id: 'new-net-id',
  name: 'back',
  driver: '',
  subnet: '10.0.2.0/24',
  ...fields,
});
const connect = (fields: Partial<Connect>): Connect => ({
  type: 'connect',
  endpointId: 'new-ep-id',
  network: 'front',
  sandbox: 'cache',
  aliases: [],
  ...fields,
});
const service = (fields: Partial<CreateService>): CreateService => ({
  type: 'createService',
  id: 'new-svc-id',
  name: 'api',
  networks: ['front'],
  ...fields,
});
const cacheSandbox: Command = { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' };
const adopting = (netns: string): CreateSandbox => ({ type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a', netns });
const apiService: Command = service({ id: 'api-id' });
/** Two subnets of one network, for the multi-subnet cases. */
const twoSubnets = network({
  subnet: undefined,
  name: 'multi',
  ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { router: '10.0.2.254' } }, { subnet: '10.0.3.0/24', gateway: '10.0.3.254' }],
});
const onePool = (base: string, size: number): Command => ({ type: 'setDefaultAddressPools', pools: [{ base, size }] });
/** node-a's agent registering again, now reporting its gateway subnet and reserved ports. */
const nodeAReports: Command = {
  type: 'registerNode',
  id: 'node-a-id',
  name: 'node-a',
  advertiseAddr: '192.168.0.1',
  gatewaySubnet: '172.29.0.0/16',
  reservedPorts: [{ protocol: 'tcp', port: 9100, reason: "the agent's metrics port" }],
};
const registering = (fields: Partial<RegisterNode>): RegisterNode => ({ type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3', ...fields });
const many = <T>(count: number, make: (index: number) => T): T[] => Array.from({ length: count }, (_, index) => make(index));
/** 64 more networks, and "cache" connected to each: as many networks as one sandbox may join. */
const cacheOn64Networks: Command[] = [
  cacheSandbox,
  ...many(64, (i): Command => network({ id: `net-${i}`, name: `net-${i}`, subnet: `10.100.${i}.0/24` })),
  ...many(64, (i): Command => connect({ endpointId: `ep-${i}`, network: `net-${i}` })),
];

const cases: RefusedCase[] = [
  { title: 'network without a name', command: network({ name: '' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['name', 'required'] },
  { title: 'network name starting with a dash', command: network({ name: '-back' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['"-back"', 'letters, digits'] },
  { title: 'network name of 64 characters', command: network({ name: 'a'.repeat(64) }), code: 'INVALID_ARGUMENT', field: 'name', says: ['1 to 63'] },
  { title: 'network name taken', command: network({ name: 'front' }), code: 'ALREADY_EXISTS', field: 'name', says: ['"front"', 'another name'] },
  { title: 'network id reused', command: network({ id: 'front-id' }), code: 'ALREADY_EXISTS', field: 'id', says: ['front-id'] },
  { title: 'unsupported driver', command: network({ driver: 'vxlan' }), code: 'INVALID_ARGUMENT', field: 'driver', says: ['"vxlan"', 'overlay, bridge, macvlan, ipvlan'] },
  { title: 'gateway without a subnet', command: network({ subnet: '', gateway: '10.0.2.1' }), code: 'INVALID_ARGUMENT', field: 'gateway', says: ['--subnet', 'default address pools'] },
  { title: 'ip_range without a subnet', command: network({ subnet: '', ipRange: '10.0.2.0/25' }), code: 'INVALID_ARGUMENT', field: 'ip_range', says: ['--subnet'] },
  { title: 'subnet that is not a CIDR', command: network({ subnet: 'banana' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['"banana"', '10.0.1.0/24'] },
  { title: 'subnet without prefix', command: network({ subnet: '10.0.2.0' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['"10.0.2.0"', '10.0.1.0/24'] },
  { title: 'subnet with host bits', command: network({ subnet: '10.0.2.5/24' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['"10.0.2.5/24"', 'host bits', '10.0.2.0/24'] },
  { title: 'subnet larger than /8', command: network({ subnet: '10.0.0.0/7' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['/7', 'between /8 and /30'] },
  { title: 'subnet smaller than /30', command: network({ subnet: '10.0.2.0/31' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['/31', 'between /8 and /30'] },
  { title: 'gateway that is not an address', command: network({ gateway: 'gw' }), code: 'INVALID_ARGUMENT', field: 'gateway', says: ['"gw"', '10.0.2.0/24'] },
  { title: 'gateway outside the subnet', command: network({ gateway: '10.0.3.1' }), code: 'INVALID_ARGUMENT', field: 'gateway', says: ['10.0.3.1', 'outside', '10.0.2.0/24'] },
  { title: 'gateway on the network address', command: network({ gateway: '10.0.2.0' }), code: 'INVALID_ARGUMENT', field: 'gateway', says: ['network address', '10.0.2.1'] },
  { title: 'gateway on the broadcast address', command: network({ gateway: '10.0.2.255' }), code: 'INVALID_ARGUMENT', field: 'gateway', says: ['broadcast address'] },
  { title: 'ip_range that is not a CIDR', command: network({ ipRange: '10.0.2.0-10.0.2.9' }), code: 'INVALID_ARGUMENT', field: 'ip_range', says: ['ip_range', '"10.0.2.0-10.0.2.9"', '10.0.2.0/25'] },
  { title: 'ip_range with host bits', command: network({ ipRange: '10.0.2.1/25' }), code: 'INVALID_ARGUMENT', field: 'ip_range', says: ['10.0.2.0/25'] },
  { title: 'ip_range outside the subnet', command: network({ ipRange: '10.0.3.0/25' }), code: 'INVALID_ARGUMENT', field: 'ip_range', says: ['10.0.3.0/25', 'not inside subnet 10.0.2.0/24'] },
  { title: 'ip_range larger than the subnet', command: network({ ipRange: '10.0.0.0/16' }), code: 'INVALID_ARGUMENT', field: 'ip_range', says: ['not inside subnet'] },

  { title: 'both the simple form and ipam', command: network({ ipam: [{ subnet: '10.0.3.0/24' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['not both', 'move the first subnet into ipam'] },
  { title: 'malformed subnet in ipam', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24' }, { subnet: '10.0.3/24' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam[1].subnet', '"10.0.3/24"'] },
  { title: 'overlapping subnets in one network', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24' }, { subnet: '10.0.2.128/25' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['10.0.2.128/25', 'overlaps 10.0.2.0/24', 'ipam[0]'] },
  { title: 'the same subnet twice in one network', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24' }, { subnet: '10.0.2.0/24' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['overlaps'] },
  { title: 'gateway outside its ipam subnet', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24' }, { subnet: '10.0.3.0/24', gateway: '10.0.2.1' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam[1].gateway', 'outside subnet 10.0.3.0/24'] },
  { title: 'ip_range outside its ipam subnet', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', ipRange: '10.0.9.0/25' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam[0].ip_range', 'not inside subnet'] },
  { title: 'aux address outside the subnet', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { router: '10.0.3.1' } }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam[0].aux_addresses', '10.0.3.1', 'outside'] },
  { title: 'aux address on the gateway', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { router: '10.0.2.1' } }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['"router"', 'the gateway'] },
  { title: 'two aux addresses on one address', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { a: '10.0.2.9', b: '10.0.2.9' } }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['"a" and "b"', '10.0.2.9'] },
  { title: 'aux address that is not an address', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { a: 'router' } }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['"router"', 'not an IPv4 address'] },
  { title: 'mtu too small', command: network({ mtu: 500 }), code: 'INVALID_ARGUMENT', field: 'mtu', says: ['500', '576 to 9000'] },
  { title: 'mtu too large', command: network({ mtu: 9001 }), code: 'INVALID_ARGUMENT', field: 'mtu', says: ['9001'] },
  { title: 'too many labels', command: network({ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['65 labels', 'at most 64'] },
  { title: 'oversized label value', command: network({ labels: { big: 'x'.repeat(4097) } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['"big"', '4097', '4096'] },
  { title: 'oversized label key', command: network({ labels: { ['k'.repeat(129)]: 'v' } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['129 characters', '128'] },
  { title: 'empty label key', command: network({ labels: { '': 'v' } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['key is empty'] },
  { title: 'vni below the range', command: network({ vni: 100 }), code: 'INVALID_ARGUMENT', field: 'vni', says: ['100', '4096 to 16777215'] },
  { title: 'vni above the range', command: network({ vni: 2 ** 24 }), code: 'INVALID_ARGUMENT', field: 'vni', says: ['16777216'] },
  { title: 'duplicate vni', command: network({ vni: 4096 }), code: 'ALREADY_EXISTS', field: 'vni', says: ['4096', '"front"'] },
  {
    title: 'default address pool exhausted',
    given: [onePool('10.9.0.0/24', 24), network({ id: 'pooled-id', name: 'pooled', subnet: '' })],
    command: network({ subnet: '' }),
    code: 'RESOURCE_EXHAUSTED',
    field: 'subnet',
    says: ['10.9.0.0/24 in /24s', 'remove unused networks, or give --subnet'],
  },
  {
    title: 'default address pool covered by explicit subnets',
    given: [onePool('10.0.0.0/23', 24), network({ id: 'zero-id', name: 'zero', subnet: '10.0.0.0/24' })],
    command: network({ subnet: '' }),
    code: 'RESOURCE_EXHAUSTED',
    field: 'subnet',
    says: ['10.0.0.0/23'],
  },
  { title: 'default pool that is not a CIDR', command: onePool('10.0.0.0', 24), code: 'INVALID_ARGUMENT', field: 'default_addr_pool', says: ['"10.0.0.0"'] },
  { title: 'default pool size larger than its base', command: onePool('10.0.0.0/16', 12), code: 'INVALID_ARGUMENT', field: 'default_addr_pool_mask_length', says: ['/12', 'between 16 and 29'] },
  { title: 'default pool size of /30', command: onePool('10.0.0.0/8', 30), code: 'INVALID_ARGUMENT', field: 'default_addr_pool_mask_length', says: ['/30'] },
  { title: 'no default pools at all', command: { type: 'setDefaultAddressPools', pools: [] }, code: 'INVALID_ARGUMENT', field: 'default_addr_pool', says: ['at least one'] },

  { title: 'removing an unknown network', command: { type: 'removeNetwork', network: 'nope' }, code: 'NOT_FOUND', field: 'network', says: ['"nope"'] },
  { title: 'removing a network in use', command: { type: 'removeNetwork', network: 'front' }, code: 'FAILED_PRECONDITION', field: 'network', says: ['2 endpoint', '"web"', '"db"', 'disconnect them first'] },
  {
    title: 'removing a network a service uses',
    given: [network({}), service({ networks: ['back'] })],
    command: { type: 'removeNetwork', network: 'back' },
    code: 'FAILED_PRECONDITION',
    field: 'network',
    says: ['service(s) "api"', 'remove them first'],
  },

  { title: 'node with a bad name', command: { type: 'registerNode', id: 'n', name: 'node a', advertiseAddr: '192.168.0.3' }, code: 'INVALID_ARGUMENT', field: 'name', says: ['"node a"'] },
  { title: 'node with a bad address', command: { type: 'registerNode', id: 'n', name: 'node-c', advertiseAddr: '192.168.0' }, code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['"192.168.0"', 'IPv4'] },
  { title: 'bad availability', command: { type: 'updateNode', node: 'node-a', availability: 'paused' }, code: 'INVALID_ARGUMENT', field: 'availability', says: ['"paused"', 'active or drain'] },
  { title: 'updating an unknown node', command: { type: 'updateNode', node: 'node-z', availability: 'drain' }, code: 'NOT_FOUND', field: 'node', says: ['"node-z"'] },
  { title: 'a label both added and removed', command: { type: 'updateNode', node: 'node-a', labelAdd: { zone: 'a' }, labelRm: ['zone'] }, code: 'INVALID_ARGUMENT', field: 'label_rm', says: ['"zone"'] },
  { title: 'oversized node label', command: { type: 'updateNode', node: 'node-a', labelAdd: { zone: 'z'.repeat(5000) } }, code: 'INVALID_ARGUMENT', field: 'label_add', says: ['"zone"', '4096'] },
  { title: 'removing a node that hosts sandboxes', command: { type: 'removeNode', node: 'node-a' }, code: 'FAILED_PRECONDITION', field: 'node', says: ['"node-a"', '"web"', 'remove them first'] },
  { title: 'removing an unknown node', command: { type: 'removeNode', node: 'node-z' }, code: 'NOT_FOUND', field: 'node', says: ['"node-z"'] },
  { title: 'node re-registering with a bad address', command: { type: 'registerNode', id: 'n', name: 'node-a', advertiseAddr: 'host-a' }, code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['"host-a"'] },

  { title: 'sandbox on an unknown node', command: { type: 'createSandbox', id: 'x-0123456789', name: 'cache', node: 'node-z' }, code: 'NOT_FOUND', field: 'node', says: ['"node-z"'] },
  { title: 'sandbox name taken', command: { type: 'createSandbox', id: 'x-0123456789', name: 'web', node: 'node-b' }, code: 'ALREADY_EXISTS', field: 'name', says: ['"web"'] },
  { title: 'sandbox with a bad name', command: { type: 'createSandbox', id: 'x-0123456789', name: 'web/1', node: 'node-a' }, code: 'INVALID_ARGUMENT', field: 'name', says: ['"web/1"'] },
  { title: 'sandbox whose namespace name collides', command: { type: 'createSandbox', id: 'web-id-0123-other', name: 'cache', node: 'node-a' }, code: 'ALREADY_EXISTS', field: 'id', says: ['trsb-web-id-012'] },
  {
    title: 'sandbox on a drained node',
    given: [{ type: 'updateNode', node: 'node-b', availability: 'drain' }],
    command: { type: 'createSandbox', id: 'x-0123456789', name: 'cache', node: 'node-b' },
    code: 'FAILED_PRECONDITION',
    field: 'node',
    says: ['"node-b" is drained', '--availability active'],
  },
  { title: 'adopting a namespace outside /run/netns', command: adopting('/var/run/docker/netns/1a2b'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['"/var/run/docker/netns/1a2b"', '/run/netns/NAME', '/proc/PID/ns/net'] },
  { title: 'adopting a nested /run/netns path', command: adopting('/run/netns/../netns/cni-1'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['/run/netns/NAME', '/proc/PID/ns/net'] },
  { title: 'adopting a relative path', command: adopting('run/netns/cni-1'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['"run/netns/cni-1"'] },
  { title: 'adopting /run/netns itself', command: adopting('/run/netns/'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['/run/netns/NAME'] },
  { title: 'adopting a process by name', command: adopting('/proc/self/ns/net'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['"/proc/self/ns/net"', 'positive process id'] },
  { title: 'adopting process 0', command: adopting('/proc/0/ns/net'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['/proc/PID/ns/net'] },
  { title: 'adopting a pid with a leading zero', command: adopting('/proc/042/ns/net'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['"/proc/042/ns/net"'] },
  { title: 'adopting a pid above the kernel limit', command: adopting('/proc/4194305/ns/net'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['/proc/PID/ns/net'] },
  { title: "adopting another kind of a process's namespace", command: adopting('/proc/42/ns/mnt'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['/proc/PID/ns/net'] },
  { title: "adopting an agent's own namespace", command: adopting('/run/netns/trsb-web-id-012'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['trsb-', 'made by something else'] },
  {
    title: 'adopting a namespace another sandbox adopted',
    given: [adopting('/proc/42/ns/net')],
    command: { ...adopting('/proc/42/ns/net'), id: 'other-id-0123456789', name: 'other' },
    code: 'ALREADY_EXISTS',
    field: 'netns',
    says: ['"/proc/42/ns/net"', 'sandbox "cache"'],
  },
  { title: 'removing an unknown sandbox', command: { type: 'removeSandbox', sandbox: 'nope' }, code: 'NOT_FOUND', field: 'sandbox', says: ['"nope"'] },

  { title: 'connecting to an unknown network', given: [cacheSandbox], command: connect({ network: 'nope' }), code: 'NOT_FOUND', field: 'network', says: ['"nope"'] },
  { title: 'connecting an unknown sandbox', command: connect({ sandbox: 'nope' }), code: 'NOT_FOUND', field: 'sandbox', says: ['"nope"'] },
  { title: 'connecting twice', command: connect({ sandbox: 'web' }), code: 'ALREADY_EXISTS', field: 'sandbox', says: ['"web"', '"front"', '10.0.1.2'] },
  { title: 'alias that is not a DNS name', given: [cacheSandbox], command: connect({ aliases: ['ok', 'not_ok'] }), code: 'INVALID_ARGUMENT', field: 'aliases', says: ['"not_ok"'] },
  { title: 'static ip that is not an address', given: [cacheSandbox], command: connect({ ip: '10.0.1' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['"10.0.1"', '10.0.1.0/24'] },
  { title: 'static ip outside the subnet', given: [cacheSandbox], command: connect({ ip: '10.0.2.5' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['10.0.2.5', '10.0.1.0/24'] },
  { title: 'static ip on the network address', given: [cacheSandbox], command: connect({ ip: '10.0.1.0' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['network address'] },
  { title: 'static ip on the broadcast address', given: [cacheSandbox], command: connect({ ip: '10.0.1.255' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['broadcast address'] },
  { title: 'static ip on the gateway', given: [cacheSandbox], command: connect({ ip: '10.0.1.1' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['gateway'] },
  { title: 'static ip already held', given: [cacheSandbox], command: connect({ ip: '10.0.1.2' }), code: 'ALREADY_EXISTS', field: 'ip', says: ['10.0.1.2', 'sandbox "web"'] },
  { title: 'static ip on an aux address', given: [cacheSandbox, twoSubnets], command: connect({ network: 'multi', ip: '10.0.2.254' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['auxiliary address "router"'] },
  { title: 'static ip on the second subnet\'s gateway', given: [cacheSandbox, twoSubnets], command: connect({ network: 'multi', ip: '10.0.3.254' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['the gateway'] },
  { title: 'static ip outside every subnet', given: [cacheSandbox, twoSubnets], command: connect({ network: 'multi', ip: '10.0.4.5' }), code: 'INVALID_ARGUMENT', field: 'ip', says: ['10.0.2.0/24, 10.0.3.0/24'] },
  { title: 'static ip held by a VIP', given: [cacheSandbox, apiService], command: connect({ ip: '10.0.1.4' }), code: 'ALREADY_EXISTS', field: 'ip', says: ['VIP of service "api"'] },
  { title: 'mac that is not a MAC', given: [cacheSandbox], command: connect({ mac: '02:42:0a' }), code: 'INVALID_ARGUMENT', field: 'mac', says: ['"02:42:0a"', 'six hex octets'] },
  { title: 'multicast mac', given: [cacheSandbox], command: connect({ mac: '01:00:5e:00:00:01' }), code: 'INVALID_ARGUMENT', field: 'mac', says: ['multicast'] },
  { title: 'all-zero mac', given: [cacheSandbox], command: connect({ mac: '00:00:00:00:00:00' }), code: 'INVALID_ARGUMENT', field: 'mac', says: ['not usable'] },
  { title: 'mac already held', given: [cacheSandbox], command: connect({ mac: '02:42:0A:00:01:02' }), code: 'ALREADY_EXISTS', field: 'mac', says: ['02:42:0a:00:01:02', 'sandbox "web"'] },
  { title: 'mac that another address gets automatically', given: [cacheSandbox], command: connect({ mac: '02:42:0a:00:01:63' }), code: 'INVALID_ARGUMENT', field: 'mac', says: ['automatic MAC of address 10.0.1.99'] },
  { title: 'bad hostname', given: [cacheSandbox], command: connect({ hostname: 'web.front' }), code: 'INVALID_ARGUMENT', field: 'hostname', says: ['"web.front"'] },
  { title: 'hostname ending with a dash', given: [cacheSandbox], command: connect({ hostname: 'web-' }), code: 'INVALID_ARGUMENT', field: 'hostname', says: ['"web-"'] },
  { title: 'extra host without an address', given: [cacheSandbox], command: connect({ extraHosts: ['db.local'] }), code: 'INVALID_ARGUMENT', field: 'extra_hosts', says: ['"db.local"', 'name:ip'] },
  { title: 'extra host with a bad address', given: [cacheSandbox], command: connect({ extraHosts: ['db:10.0.0.300'] }), code: 'INVALID_ARGUMENT', field: 'extra_hosts', says: ['"db:10.0.0.300"'] },
  { title: 'dns that is not an address', given: [cacheSandbox], command: connect({ dns: ['8.8.8.8', 'resolver'] }), code: 'INVALID_ARGUMENT', field: 'dns', says: ['"resolver"'] },
  { title: 'unknown service', given: [cacheSandbox], command: connect({ service: 'nope' }), code: 'NOT_FOUND', field: 'service', says: ['"nope"'] },
  {
    title: 'service not on the network',
    given: [cacheSandbox, network({}), service({ networks: ['back'] })],
    command: connect({ service: 'api' }),
    code: 'FAILED_PRECONDITION',
    field: 'service',
    says: ['"api" is not on network "front"'],
  },
  { title: 'published port with an unknown protocol', given: [cacheSandbox], command: connect({ publishedPorts: [{ protocol: 'sctp', hostPort: 8080, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['published_ports[0].protocol', '"sctp"', 'tcp or udp'] },
  { title: 'published host port 0', given: [cacheSandbox], command: connect({ publishedPorts: [{ hostPort: 0, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['published_ports[0].host_port', '1 to 65535'] },
  { title: 'published container port above 65535', given: [cacheSandbox], command: connect({ publishedPorts: [{ hostPort: 8080, port: 80 }, { hostPort: 8081, port: 70000 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['published_ports[1].port', '70000', '1 to 65535'] },
  { title: 'published host port that is not whole', given: [cacheSandbox], command: connect({ publishedPorts: [{ hostPort: 80.5, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['published_ports[0].host_port', '80.5'] },
  {
    title: 'host port published twice in one connect',
    given: [cacheSandbox],
    command: connect({ publishedPorts: [{ hostPort: 8080, port: 80 }, { protocol: 'udp', hostPort: 8080, port: 80 }, { protocol: 'tcp', hostPort: 8080, port: 81 }] }),
    code: 'INVALID_ARGUMENT',
    field: 'published_ports',
    says: ['host port 8080/tcp', 'published_ports[0] and published_ports[2]', 'publish each port once'],
  },
  {
    title: 'publishing on an internal network',
    given: [cacheSandbox, network({ name: 'inner', internal: true })],
    command: connect({ network: 'inner', publishedPorts: [{ hostPort: 8080, port: 80 }] }),
    code: 'FAILED_PRECONDITION',
    field: 'published_ports',
    says: ['"inner"', 'internal networks have no gateway; publish through a non-internal network'],
  },
  {
    title: 'publishing from an adopted namespace',
    given: [adopting('/run/netns/cni-7f3a')],
    command: connect({ publishedPorts: [{ hostPort: 8080, port: 80 }] }),
    code: 'FAILED_PRECONDITION',
    field: 'published_ports',
    says: ['"cache"', '/run/netns/cni-7f3a', 'publish through that runtime'],
  },
  {
    title: 'host port another sandbox on the node publishes',
    given: [network({}), connect({ endpointId: 'ep-web-back', network: 'back', sandbox: 'web', publishedPorts: [{ hostPort: 8080, port: 80 }] }), cacheSandbox],
    command: connect({ publishedPorts: [{ hostPort: 9090, port: 90 }, { hostPort: 8080, port: 8000 }] }),
    code: 'ALREADY_EXISTS',
    field: 'published_ports',
    says: ['host port 8080/tcp', 'node "node-a"', 'sandbox "web"', 'ep-web-back', 'network "back"', 'choose another host port', 'disconnect "web" from "back"'],
  },
  {
    title: 'host port the same sandbox publishes on another network',
    given: [cacheSandbox, network({}), connect({ endpointId: 'ep-cache-back', network: 'back', publishedPorts: [{ protocol: 'udp', hostPort: 5353, port: 53 }] })],
    command: connect({ publishedPorts: [{ protocol: 'udp', hostPort: 5353, port: 5353 }] }),
    code: 'ALREADY_EXISTS',
    field: 'published_ports',
    says: ['host port 5353/udp', 'sandbox "cache"'],
  },
  {
    title: 'no address left in the subnet',
    given: [network({ name: 'tiny', subnet: '10.0.2.0/30' }), { type: 'connect', endpointId: 'e1', network: 'tiny', sandbox: 'web', aliases: [] }],
    command: connect({ network: 'tiny', sandbox: 'db' }),
    code: 'RESOURCE_EXHAUSTED',
    field: 'network',
    says: ['"tiny"', 'subnet 10.0.2.0/30', 'use a larger --subnet or --ip-range'],
  },
  {
    title: 'no address left in the ip_range',
    given: [network({ name: 'narrow', ipRange: '10.0.2.0/31' })],
    command: connect({ network: 'narrow', sandbox: 'web' }),
    code: 'RESOURCE_EXHAUSTED',
    field: 'network',
    says: ['ip_range 10.0.2.0/31', '--ip-range'],
  },

  { title: 'service name taken', given: [apiService], command: service({ id: 'other-id' }), code: 'ALREADY_EXISTS', field: 'name', says: ['"api"'] },
  { title: 'service with a bad name', command: service({ name: 'api svc' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['"api svc"'] },
  { title: 'service on an unknown network', command: service({ networks: ['front', 'nope'] }), code: 'NOT_FOUND', field: 'networks', says: ['"nope"'] },
  { title: 'unknown endpoint mode', command: service({ endpointMode: 'round-robin' }), code: 'INVALID_ARGUMENT', field: 'endpoint_mode', says: ['"round-robin"'] },
  { title: 'port 0 as target', command: service({ ports: [{ targetPort: 0 }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['ports[0].target_port', '1 to 65535'] },
  { title: 'published port above 65535', command: service({ ports: [{ targetPort: 80 }, { targetPort: 81, publishedPort: 70000 }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['ports[1].published_port', '70000'] },
  { title: 'unknown protocol', command: service({ ports: [{ targetPort: 80, protocol: 'sctp' }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['ports[0].protocol', '"sctp"'] },
  { title: 'unknown publish mode', command: service({ ports: [{ targetPort: 80, publishMode: 'nodeport' }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['ports[0].publish_mode'] },
  { title: 'port published twice', command: service({ ports: [{ targetPort: 80, publishedPort: 8080 }, { targetPort: 81, publishedPort: 8080 }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['8080/tcp', 'twice'] },
  { title: 'dnsrr with an ingress port', command: service({ endpointMode: 'dnsrr', ports: [{ targetPort: 80 }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['ingress', 'mode host'] },
  { title: 'ingress port of another service', given: [service({ id: 'web-svc', name: 'websvc', ports: [{ targetPort: 80 }] })], command: service({ ports: [{ targetPort: 8000, publishedPort: 80 }] }), code: 'ALREADY_EXISTS', field: 'ports', says: ['80/tcp', '"websvc"'] },
  { title: 'oversized service labels', command: service({ labels: { '': 'x' } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['empty'] },
  {
    title: 'no address left for a VIP',
    given: [network({ name: 'tiny', subnet: '10.0.2.0/30' }), { type: 'connect', endpointId: 'e1', network: 'tiny', sandbox: 'web', aliases: [] }],
    command: service({ networks: ['front', 'tiny'] }),
    code: 'RESOURCE_EXHAUSTED',
    field: 'networks',
    says: ['"tiny"'],
  },
  { title: 'removing an unknown service', command: { type: 'removeService', service: 'nope' }, code: 'NOT_FOUND', field: 'service', says: ['"nope"'] },
  {
    title: 'removing a service with backends',
    given: [apiService, cacheSandbox, connect({ service: 'api' })],
    command: { type: 'removeService', service: 'api' },
    code: 'FAILED_PRECONDITION',
    field: 'service',
    says: ['1 backend', '"cache" on "front"', 'disconnect them first'],
  },

  { title: 'disconnecting from an unknown network', command: { type: 'disconnect', network: 'nope', sandbox: 'web' }, code: 'NOT_FOUND', field: 'network', says: ['"nope"'] },
  { title: 'disconnecting an unknown sandbox', command: { type: 'disconnect', network: 'front', sandbox: 'nope' }, code: 'NOT_FOUND', field: 'sandbox', says: ['"nope"'] },
  {
    title: 'disconnecting a sandbox that is not connected',
    given: [network({})],
    command: { type: 'disconnect', network: 'back', sandbox: 'web' },
    code: 'NOT_FOUND',
    field: 'sandbox',
    says: ['"web" is not connected to network "back"'],
  },

  // Bounded lists: every one names the field, the limit and what was given.
  { title: '200,000 aliases', given: [cacheSandbox], command: connect({ aliases: many(200_000, (i) => `a${i}`) }), code: 'INVALID_ARGUMENT', field: 'aliases', says: ['aliases: at most 64 per endpoint, got 200000'] },
  { title: '65 aliases', given: [cacheSandbox], command: connect({ aliases: many(65, (i) => `a${i}`) }), code: 'INVALID_ARGUMENT', field: 'aliases', says: ['at most 64 per endpoint, got 65'] },
  { title: 'an alias longer than a DNS name', given: [cacheSandbox], command: connect({ aliases: [`${'a'.repeat(60)}.`.repeat(4) + 'b'.repeat(10)] }), code: 'INVALID_ARGUMENT', field: 'aliases', says: ['is 254 characters', 'at most 253'] },
  { title: '65 extra hosts', given: [cacheSandbox], command: connect({ extraHosts: many(65, (i) => `h${i}:10.0.0.${i + 1}`) }), code: 'INVALID_ARGUMENT', field: 'extra_hosts', says: ['extra_hosts: at most 64 per endpoint, got 65'] },
  { title: '9 resolvers', given: [cacheSandbox], command: connect({ dns: many(9, (i) => `10.0.0.${i + 1}`) }), code: 'INVALID_ARGUMENT', field: 'dns', says: ['dns: at most 8 per endpoint, got 9'] },
  { title: '129 published ports', given: [cacheSandbox], command: connect({ publishedPorts: many(129, (i) => ({ hostPort: 10_000 + i, port: 80 })) }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['published_ports: at most 128 per endpoint, got 129'] },
  { title: 'a 65th network for one sandbox', given: cacheOn64Networks, command: connect({}), code: 'FAILED_PRECONDITION', field: 'sandbox', says: ['"cache" is already on 64 networks', '(64)', 'disconnect it from one first'] },
  { title: '17 subnets in one network', command: network({ subnet: undefined, ipam: many(17, (i) => ({ subnet: `10.9.${i}.0/24` })) }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam: at most 16 per network, got 17'] },
  { title: '65 aux addresses in one network', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: Object.fromEntries(many(65, (i) => [`r${i}`, `10.0.2.${i + 2}`])) }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['at most 64 aux addresses per network, got 65'] },
  { title: 'an aux address name of 65 characters', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { ['r'.repeat(65)]: '10.0.2.9' } }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam[0].aux_addresses', '65 characters', 'at most 64'] },
  { title: 'a service on 65 networks', command: service({ networks: many(65, () => 'front') }), code: 'INVALID_ARGUMENT', field: 'networks', says: ['networks: at most 64 per service, got 65'] },
  { title: 'a service with 129 ports', command: service({ ports: many(129, (i) => ({ targetPort: 1000 + i })) }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['ports: at most 128 per service, got 129'] },
  { title: 'labels of more than 8 KB together', command: network({ labels: { a: 'x'.repeat(4000), b: 'y'.repeat(4000), c: 'z'.repeat(200) } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['8203 bytes', 'at most 8192 per object'] },
  { title: 'labels of more than 8 KB in UTF-8', command: service({ labels: { a: 'é'.repeat(4096) } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['8193 bytes'] },
  { title: 'node labels growing past 8 KB', given: [{ type: 'updateNode', node: 'node-a', labelAdd: { a: 'x'.repeat(4096) } }], command: { type: 'updateNode', node: 'node-a', labelAdd: { b: 'y'.repeat(4096) } }, code: 'INVALID_ARGUMENT', field: 'label_add', says: ['8194 bytes'] },
  { title: 'a node reserving 65 ports', command: registering({ reservedPorts: many(65, (i) => ({ port: 9000 + i })) }), code: 'INVALID_ARGUMENT', field: 'reserved_ports', says: ['reserved_ports: at most 64 per node, got 65'] },

  // Reserved ports: the VXLAN and gossip DHT ports everywhere, and what each node's agent reserves.
  { title: 'publishing the VXLAN port', given: [cacheSandbox], command: connect({ publishedPorts: [{ protocol: 'udp', hostPort: 4789, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['4789/udp is the VXLAN port of this cluster', 'publish another port'] },
  { title: "publishing a port the node's agent reserves", given: [nodeAReports, cacheSandbox], command: connect({ publishedPorts: [{ hostPort: 8080, port: 80 }, { hostPort: 9100, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['9100/tcp is reserved on node "node-a" (the agent\'s metrics port)'] },
  { title: 'a service publishing the VXLAN port', command: service({ ports: [{ protocol: 'udp', targetPort: 4789 }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['4789/udp is the VXLAN port'] },
  { title: "publishing the managers' gossip DHT port", given: [cacheSandbox], command: connect({ publishedPorts: [{ protocol: 'udp', hostPort: 4790, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ["4790/udp is the gossip DHT port of this cluster's managers", 'publish another port'] },
  { title: "publishing the agents' gossip DHT port", given: [cacheSandbox], command: connect({ publishedPorts: [{ protocol: 'udp', hostPort: 4791, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ["4791/udp is the gossip DHT port of this cluster's agents", 'publish another port'] },
  { title: "a service publishing the agents' gossip DHT port", command: service({ ports: [{ protocol: 'udp', targetPort: 4791 }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ["4791/udp is the gossip DHT port of this cluster's agents"] },
  { title: 'a host-mode service port a node reserves', given: [nodeAReports], command: service({ ports: [{ targetPort: 80, publishedPort: 9100, publishMode: 'host' }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['9100/tcp is reserved on node "node-a"'] },
  { title: 'a reserved port of an unknown protocol', command: registering({ reservedPorts: [{ protocol: 'sctp', port: 9100 }] }), code: 'INVALID_ARGUMENT', field: 'reserved_ports', says: ['reserved_ports[0].protocol', '"sctp"'] },
  { title: 'a reserved port 0', command: registering({ reservedPorts: [{ port: 0 }] }), code: 'INVALID_ARGUMENT', field: 'reserved_ports', says: ['reserved_ports[0].port', '1 to 65535'] },
  { title: 'a reserved port whose reason has a newline', command: registering({ reservedPorts: [{ port: 9100, reason: 'metrics\nport' }] }), code: 'INVALID_ARGUMENT', field: 'reserved_ports', says: ['reserved_ports[0].reason', 'control character (U+000A)'] },

  // Namespaces Trellis owns.
  { title: "adopting an agent's network namespace", command: adopting('/run/netns/trnw-1a2b3c4d-4096'), code: 'INVALID_ARGUMENT', field: 'netns', says: ['"/run/netns/trnw-1a2b3c4d-4096"', "an agent's network namespace", 'trnw-', 'never adopted'] },
  { title: "adopting one of the lab's hosts", command: adopting('/run/netns/trlab-a1'), code: 'INVALID_ARGUMENT', field: 'netns', says: ["one of the lab's hosts", 'trlab-'] },

  // Unusable addresses.
  { title: 'a loopback subnet', command: network({ subnet: '127.0.0.0/8' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['127.0.0.0/8 is not usable', 'loopback', 'like 10.0.1.0/24'] },
  { title: 'a subnet in 0.0.0.0/8', command: network({ subnet: '0.1.0.0/16' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['0.1.0.0/16 is not usable', '"this network"'] },
  { title: 'a multicast subnet', command: network({ subnet: '224.1.0.0/16' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['multicast'] },
  { title: 'a reserved subnet', command: network({ subnet: '240.0.0.0/8' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['240.0.0.0/4 is reserved'] },
  { title: 'a subnet holding the broadcast address', command: network({ subnet: '255.255.255.0/24' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['255.255.255.255'] },
  { title: 'a multicast subnet in ipam', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24' }, { subnet: '239.1.0.0/16' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam[1].subnet: 239.1.0.0/16 is not usable'] },
  { title: 'a loopback default address pool', command: onePool('127.0.0.0/8', 24), code: 'INVALID_ARGUMENT', field: 'default_addr_pool', says: ['127.0.0.0/8', 'loopback'] },
  { title: "a subnet inside a node's gateway subnet", given: [nodeAReports], command: network({ subnet: '172.29.5.0/24' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['172.29.5.0/24 overlaps 172.29.0.0/16', 'gateway subnet of node "node-a"', 'outside it'] },
  { title: "a subnet holding a node's gateway subnet", given: [nodeAReports], command: network({ subnet: '172.16.0.0/12' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['172.16.0.0/12 overlaps 172.29.0.0/16'] },
  { title: "an ipam subnet in a node's gateway subnet", given: [nodeAReports], command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24' }, { subnet: '172.29.0.0/24' }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['172.29.0.0/24 overlaps'] },
  { title: 'a node whose gateway subnet holds a network', command: registering({ gatewaySubnet: '10.0.0.0/16' }), code: 'FAILED_PRECONDITION', field: 'gateway_subnet', says: ['node "node-c"', '10.0.0.0/16', 'subnet 10.0.1.0/24 of network "front"', 'another --gateway-subnet'] },
  { title: 'a node re-registering with a gateway subnet on a network', command: registering({ id: 'x', name: 'node-a', gatewaySubnet: '10.0.1.0/25' }), code: 'FAILED_PRECONDITION', field: 'gateway_subnet', says: ['node "node-a"'] },
  { title: 'a gateway subnet that is not a CIDR', command: registering({ gatewaySubnet: 'gw' }), code: 'INVALID_ARGUMENT', field: 'gateway_subnet', says: ['"gw"', '172.29.0.0/16'] },
  { title: 'a loopback gateway subnet', command: registering({ gatewaySubnet: '127.0.0.0/16' }), code: 'INVALID_ARGUMENT', field: 'gateway_subnet', says: ['loopback'] },
  { title: 'a node advertising 0.0.0.0', command: registering({ advertiseAddr: '0.0.0.0' }), code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ["0.0.0.0 cannot be a node's underlay address", '"this network"'] },
  { title: 'a node advertising loopback', command: registering({ advertiseAddr: '127.0.0.1' }), code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['127.0.0.1', 'loopback'] },
  { title: 'a node advertising multicast', command: registering({ advertiseAddr: '224.0.0.1' }), code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['multicast'] },
  { title: 'a node advertising 240/4', command: registering({ advertiseAddr: '240.0.0.1' }), code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['reserved'] },
  { title: 'a node advertising the broadcast address', command: registering({ advertiseAddr: '255.255.255.255' }), code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['255.255.255.255 cannot be', 'limited broadcast'] },
  { title: 'a node re-registering with a loopback address', command: registering({ id: 'x', name: 'node-a', advertiseAddr: '127.0.0.2' }), code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['loopback'] },

  // Numbers a request may carry (uint32) but no field takes.
  { title: 'vni of 2^32 - 1', command: network({ vni: 2 ** 32 - 1 }), code: 'INVALID_ARGUMENT', field: 'vni', says: ['4294967295', '4096 to 16777215'] },
  { title: 'mtu of 2^32 - 1', command: network({ mtu: 2 ** 32 - 1 }), code: 'INVALID_ARGUMENT', field: 'mtu', says: ['4294967295', '576 to 9000'] },
  { title: 'published host port of 2^32 - 1', given: [cacheSandbox], command: connect({ publishedPorts: [{ hostPort: 2 ** 32 - 1, port: 80 }] }), code: 'INVALID_ARGUMENT', field: 'published_ports', says: ['published_ports[0].host_port', '4294967295'] },
  { title: 'target port of 2^32 - 1', command: service({ ports: [{ targetPort: 2 ** 32 - 1 }] }), code: 'INVALID_ARGUMENT', field: 'ports', says: ['ports[0].target_port', '4294967295'] },

  // Control characters in names and free-form text.
  { title: 'a newline in a label key', command: network({ labels: { 'team\nowner': 'db' } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['label key "team\\nowner"', 'control character (U+000A)', 'remove it'] },
  { title: 'a carriage return in a label value', command: service({ labels: { team: 'db\r' } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['the value of "team"', 'U+000D'] },
  { title: 'a tab in a node label', command: { type: 'updateNode', node: 'node-a', labelAdd: { 'zo\tne': 'a' } }, code: 'INVALID_ARGUMENT', field: 'label_add', says: ['U+0009'] },
  { title: 'a line separator in a label value', command: network({ labels: { a: 'x\u2028y' } }), code: 'INVALID_ARGUMENT', field: 'labels', says: ['U+2028'] },
  { title: 'a newline in an aux address name', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { 'router\n': '10.0.2.9' } }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['ipam[0].aux_addresses: name "router\\n"', 'control character'] },
  { title: 'a DEL in an aux address name', command: network({ subnet: undefined, ipam: [{ subnet: '10.0.2.0/24', auxAddresses: { 'r\u007f': '10.0.2.9' } }] }), code: 'INVALID_ARGUMENT', field: 'ipam', says: ['U+007F'] },
  { title: 'a newline in a network name', command: network({ name: 'back\n' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['"back\\n" is not a valid network name'] },
  { title: 'a newline in a node name', command: registering({ name: 'node-c\n' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['"node-c\\n"'] },
  { title: 'a newline in a sandbox name', command: { type: 'createSandbox', id: 'x-0123456789', name: 'cache\nx', node: 'node-a' }, code: 'INVALID_ARGUMENT', field: 'name', says: ['"cache\\nx"'] },
  { title: 'a newline in a service name', command: service({ name: 'api\n' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['"api\\n"'] },
  { title: 'a newline in an alias', given: [cacheSandbox], command: connect({ aliases: ['www\n'] }), code: 'INVALID_ARGUMENT', field: 'aliases', says: ['"www\\n" is not a valid DNS name'] },
  { title: 'a newline in a hostname', given: [cacheSandbox], command: connect({ hostname: 'web\n' }), code: 'INVALID_ARGUMENT', field: 'hostname', says: ['"web\\n"'] },
  { title: 'a newline in an extra host', given: [cacheSandbox], command: connect({ extraHosts: ['db\n:10.0.0.5'] }), code: 'INVALID_ARGUMENT', field: 'extra_hosts', says: ['"db\\n:10.0.0.5" is not name:ip'] },
];

function storeGiven(commands: Command[]): Store {
  const store = twoNodeStore();
  for (const command of commands) must(store, command);
  return store;
}

describe('refused commands', () => {
  it.each(cases)('$title → $code on $field, state untouched', ({ given, command, code, field, says }) => {
    const store = storeGiven(given ?? []);
    const before = store.snapshot();

    const result = store.apply(command);

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(result.error.field).toBe(field);
    for (const piece of says) expect(result.error.message).toContain(piece);
    expect(store.snapshot()).toEqual(before);
  });

  it('leaves allocations untouched, so the next success gets what it would have got', () => {
    const store = twoNodeStore();
    must(store, cacheSandbox);
    store.apply(connect({ ip: '10.0.1.255' }));
    store.apply(network({ subnet: '10.0.2.0/31' }));
    expect(must(store, connect({})).ip).toBe('10.0.1.4');
    expect(must(store, network({})).vni).toBe(4097);
  });

  it('gives back the VIPs of earlier networks when a later one has no room', () => {
    const store = storeGiven([network({ name: 'tiny', subnet: '10.0.2.0/30' }), { type: 'connect', endpointId: 'e1', network: 'tiny', sandbox: 'web', aliases: [] }]);
    expect(store.apply(service({ networks: ['front', 'tiny'] })).ok).toBe(false);
    expect(must(store, service({ networks: ['front'] })).vips.map((vip) => vip.ip)).toEqual(['10.0.1.4']);
  });

  it('has a case for at least 30 kinds of bad input', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
});
