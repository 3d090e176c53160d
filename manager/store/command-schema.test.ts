import { checkCommand } from './command-schema';

/** What arrives decoded from JSON (or from a careless caller), with the field the refusal must name and how its message starts. */
const refused: [string, unknown, string, string][] = [
  ['not an object', null, 'command', 'command: give a JSON object with a "type"'],
  ['an unknown type', { type: 'dropEverything' }, 'type', 'type: "dropEverything" is not a command this manager knows'],
  ['a type inherited from Object.prototype', { type: 'toString' }, 'type', 'type: "toString" is not a command'],
  ['a type that is only inherited', Object.create({ type: 'removeNetwork', network: 'web' }) as unknown, 'type', 'type: nothing is not a command'],
  ['a required list missing', { type: 'connect', endpointId: 'e', network: 'n', sandbox: 's' }, 'aliases', 'aliases: give a list of at most 4096 elements; got nothing'],
  ['a fraction for a uint32', { type: 'createNetwork', id: 'i', name: 'n', driver: '', mtu: 1.5 }, 'mtu', 'mtu: give a whole number from 0 to 4294967295; got 1.5'],
  ['NaN for a uint32', { type: 'createNetwork', id: 'i', name: 'n', driver: '', mtu: NaN }, 'mtu', 'mtu: give a whole number from 0 to 4294967295; got NaN'],
  ['2^32 for a uint32', { type: 'createNetwork', id: 'i', name: 'n', driver: '', vni: 2 ** 32 }, 'vni', 'vni: give a whole number from 0 to 4294967295; got 4294967296'],
  ['a number inside a list element', { type: 'createNetwork', id: 'i', name: 'n', driver: '', ipam: [{ subnet: '10.0.0.0/24' }, { subnet: '10.0.1.0/24', gateway: 7 }] }, 'ipam', 'ipam[1].gateway: give a string'],
  ['a negative port', { type: 'connect', endpointId: 'e', network: 'n', sandbox: 's', aliases: [], publishedPorts: [{ hostPort: -1, port: 80 }] }, 'published_ports', 'published_ports[0].host_port: give a whole number from 0'],
  ['a __proto__ label key', { type: 'createNetwork', id: 'i', name: 'n', driver: '', labels: JSON.parse('{"__proto__": "x"}') as unknown }, 'labels', 'labels: the key "__proto__" is not allowed'],
  ['a label value that is no string', { type: 'updateNode', node: 'n', labelAdd: { a: 1 } }, 'label_add', 'label_add: the value of "a" must be a string'],
  ['a string where a list goes', { type: 'updateNode', node: 'n', labelRm: 'toString' }, 'label_rm', 'label_rm: give a list'],
  ['a join role that is no role', { type: 'rotateJoinSecret', role: '__proto__', secret: 's' }, 'role', 'role: give one of worker, manager; got "__proto__"'],
  ['a huge string', { type: 'removeNetwork', network: 'x'.repeat(70_000) }, 'network', 'network: give a string of at most 1024 characters; got a string of 70000 characters'],
  ['a huge list', { type: 'updateNode', node: 'x', labelRm: Array.from({ length: 5000 }, () => 'a') }, 'label_rm', 'label_rm: give a list of at most 4096 elements; got a list of 5000'],
  ['a list over its documented limit, in the limit\'s words', { type: 'createService', id: 'i', name: 'n', networks: Array.from({ length: 5000 }, () => 'a') }, 'networks', 'networks: at most 64 per service, got 5000'],
  ['null for an optional field', { type: 'createSandbox', id: 'i', name: 'n', node: 'x', netns: null }, 'netns', 'netns: give a string of at most 1024 characters; got null'],
  ['a drain starting where its end would be no date', { type: 'disconnect', network: 'n', sandbox: 's', at: Number.MAX_SAFE_INTEGER }, 'at', 'at: give a whole number from 0 to 8639999913600000'],
  ['a nested record field of the wrong type', { type: 'initSecurity', security: { clusterId: 'c', caCertPem: 'C', caKeySealed: 5, joinSecretsSealed: { worker: 'w', manager: 'm' }, certValiditySeconds: 60 } }, 'security', 'security.ca_key_sealed: give a string'],
];

describe('checkCommand', () => {
  it.each(refused)('refuses %s with INVALID_ARGUMENT naming the field', (_, command, field, message) => {
    const result = checkCommand(command);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_ARGUMENT');
    expect(result.error.field).toBe(field);
    expect(result.error.message.slice(0, message.length)).toBe(message);
  });

  it('ignores fields it does not know (a newer manager\'s) and optional fields left undefined', () => {
    const command = { type: 'createSandbox', id: 'i', name: 'n', node: 'x', netns: undefined, placement: { zone: 'b' } };
    expect(checkCommand(command)).toEqual({ ok: true, value: command });
  });
});
