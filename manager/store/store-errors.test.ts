import type { Command, Connect, CreateNetwork } from './commands';
import type { StoreError } from './errors';
import type { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

interface RefusedCase {
  title: string;
  /** Extra commands applied to the two-node store first. */
  given?: Command[];
  command: Command;
  code: StoreError['code'];
  field: string;
  /** Pieces the human-readable message must contain (the bad value, the fix). */
  says: string[];
}

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
const cacheSandbox: Command = { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' };

const cases: RefusedCase[] = [
  { title: 'network without a name', command: network({ name: '' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['name', 'required'] },
  { title: 'network name starting with a dash', command: network({ name: '-back' }), code: 'INVALID_ARGUMENT', field: 'name', says: ['"-back"', 'letters, digits'] },
  { title: 'network name of 64 characters', command: network({ name: 'a'.repeat(64) }), code: 'INVALID_ARGUMENT', field: 'name', says: ['1 to 63'] },
  { title: 'network name taken', command: network({ name: 'front' }), code: 'ALREADY_EXISTS', field: 'name', says: ['"front"', 'another name'] },
  { title: 'network id reused', command: network({ id: 'front-id' }), code: 'ALREADY_EXISTS', field: 'id', says: ['front-id'] },
  { title: 'unsupported driver', command: network({ driver: 'bridge' }), code: 'INVALID_ARGUMENT', field: 'driver', says: ['"bridge"', '"overlay"'] },
  { title: 'missing subnet', command: network({ subnet: '' }), code: 'INVALID_ARGUMENT', field: 'subnet', says: ['subnet', '10.0.1.0/24'] },
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

  { title: 'removing an unknown network', command: { type: 'removeNetwork', network: 'nope' }, code: 'NOT_FOUND', field: 'network', says: ['"nope"'] },
  { title: 'removing a network in use', command: { type: 'removeNetwork', network: 'front' }, code: 'FAILED_PRECONDITION', field: 'network', says: ['2 endpoint', '"web"', '"db"', 'disconnect them first'] },

  { title: 'node with a bad name', command: { type: 'registerNode', id: 'n', name: 'node a', advertiseAddr: '192.168.0.3' }, code: 'INVALID_ARGUMENT', field: 'name', says: ['"node a"'] },
  { title: 'node with a bad address', command: { type: 'registerNode', id: 'n', name: 'node-c', advertiseAddr: '192.168.0' }, code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['"192.168.0"', 'IPv4'] },
  { title: 'node re-registering with a bad address', command: { type: 'registerNode', id: 'n', name: 'node-a', advertiseAddr: 'host-a' }, code: 'INVALID_ARGUMENT', field: 'advertise_addr', says: ['"host-a"'] },

  { title: 'sandbox on an unknown node', command: { type: 'createSandbox', id: 'x-0123456789', name: 'cache', node: 'node-z' }, code: 'NOT_FOUND', field: 'node', says: ['"node-z"'] },
  { title: 'sandbox name taken', command: { type: 'createSandbox', id: 'x-0123456789', name: 'web', node: 'node-b' }, code: 'ALREADY_EXISTS', field: 'name', says: ['"web"'] },
  { title: 'sandbox with a bad name', command: { type: 'createSandbox', id: 'x-0123456789', name: 'web/1', node: 'node-a' }, code: 'INVALID_ARGUMENT', field: 'name', says: ['"web/1"'] },
  { title: 'sandbox whose namespace name collides', command: { type: 'createSandbox', id: 'web-id-0123-other', name: 'cache', node: 'node-a' }, code: 'ALREADY_EXISTS', field: 'id', says: ['trsb-web-id-012'] },
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
});
