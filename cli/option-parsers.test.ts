import { CommandError } from './control-client';
import { MTU_RANGE, VNI_RANGE } from '../manager/store';
import { durationSeconds, integerOption, keyValues, networkAddressing, parseHostPublish, parsePublish, parseReservedPorts } from './option-parsers';

const none = { subnet: [], gateway: [], ipRange: [], auxAddress: [] };

describe('networkAddressing', () => {
  it('uses the simple fields for one subnet, and leaves them empty for the default pools', () => {
    expect(networkAddressing({ ...none, subnet: ['10.0.1.0/24'], gateway: ['10.0.1.254'] })).toEqual({
      subnet: '10.0.1.0/24',
      gateway: '10.0.1.254',
      ipRange: '',
      ipam: [],
    });
    expect(networkAddressing(none)).toEqual({ subnet: '', gateway: '', ipRange: '', ipam: [] });
  });

  it('pairs gateways and ranges with subnets by position, and sorts aux addresses into their subnet', () => {
    const addressing = networkAddressing({
      subnet: ['10.0.1.0/24', '10.0.2.0/24'],
      gateway: ['10.0.1.254'],
      ipRange: ['10.0.1.128/25', '10.0.2.0/25'],
      auxAddress: ['router=10.0.2.1', 'dns=10.0.1.53', 'stray=192.168.0.1'],
    });
    expect(addressing.ipam).toEqual([
      { subnet: '10.0.1.0/24', gateway: '10.0.1.254', ipRange: '10.0.1.128/25', auxAddresses: { dns: '10.0.1.53', stray: '192.168.0.1' } },
      { subnet: '10.0.2.0/24', gateway: '', ipRange: '10.0.2.0/25', auxAddresses: { router: '10.0.2.1' } },
    ]);
  });

  it('refuses more gateways than subnets, and aux addresses without a subnet', () => {
    expect(() => networkAddressing({ ...none, gateway: ['10.0.1.1'] })).toThrow(CommandError);
    expect(() => networkAddressing({ ...none, auxAddress: ['a=10.0.1.1'] })).toThrow(/--subnet/);
    expect(() => networkAddressing({ ...none, subnet: ['10.0.1.0/24'], auxAddress: ['10.0.1.1'] })).toThrow(/name=value/);
  });
});

describe('parsePublish', () => {
  it.each([
    ['80', { targetPort: 80, publishedPort: 0, protocol: '', publishMode: '' }],
    ['8080:80', { targetPort: 80, publishedPort: 8080, protocol: '', publishMode: '' }],
    ['5353:53/udp', { targetPort: 53, publishedPort: 5353, protocol: 'udp', publishMode: '' }],
    ['published=8080,target=80,protocol=udp,mode=host', { targetPort: 80, publishedPort: 8080, protocol: 'udp', publishMode: 'host' }],
    ['target=80', { targetPort: 80, publishedPort: 0, protocol: '', publishMode: '' }],
  ])('reads %s', (spec, port) => {
    expect(parsePublish(spec)).toEqual(port);
  });

  it.each(['http', 'published=80', 'target=80,color=red', 'target=eighty'])('refuses %s', (spec) => {
    expect(() => parsePublish(spec)).toThrow(CommandError);
  });
});

describe('parseHostPublish', () => {
  it.each([
    ['8080:80', { hostPort: 8080, port: 80, protocol: 'tcp' }],
    ['8080:80/tcp', { hostPort: 8080, port: 80, protocol: 'tcp' }],
    ['5353:53/udp', { hostPort: 5353, port: 53, protocol: 'udp' }],
  ])('reads %s', (spec, port) => {
    expect(parseHostPublish(spec)).toEqual(port);
  });

  it.each(['80', '80/tcp', '8080:80/sctp', '8080:http', ':80', '8080:80:90', 'published=8080,target=80'])('refuses %s, naming the flag and the form', (spec) => {
    expect(() => parseHostPublish(spec)).toThrow(CommandError);
    expect(() => parseHostPublish(spec)).toThrow(/^--publish: .* is not HOST:CONTAINER\[\/tcp\|udp\]; .*like 8080:80/);
  });
});

describe('keyValues', () => {
  it('reads key=value, keeping "=" inside values, and a bare key as an empty value', () => {
    expect(keyValues('--label', ['a=1', 'b=x=y', 'c'])).toEqual({ a: '1', b: 'x=y', c: '' });
  });

  it('keeps a key named like an Object property as a key of its own', () => {
    const labels = keyValues('--label', ['__proto__=x', 'toString=y']);
    expect(Object.entries(labels)).toEqual([['__proto__', 'x'], ['toString', 'y']]);
  });
});

/*
 * Values a request field (uint32) cannot hold used to fail as "INTERNAL: Request message
 * serialization failure", naming nothing: they are refused before sending, with the flag.
 */
describe('numbers out of range, refused before sending', () => {
  it.each([
    ['--vni', '4294967296', VNI_RANGE, '--vni: 4294967296 is out of range; give 4096 to 16777215'],
    ['--vni', '16777216', VNI_RANGE, '--vni: 16777216 is out of range'],
    ['--vni', '100', VNI_RANGE, '--vni: 100 is out of range'],
    ['--mtu', '4294967296', MTU_RANGE, '--mtu: 4294967296 is out of range; give 576 to 9000'],
    ['--mtu', '100000', MTU_RANGE, '--mtu: 100000 is out of range'],
  ] as const)('%s %s', (flag, text, range, message) => {
    expect(() => integerOption(flag, text, range)).toThrow(CommandError);
    expect(() => integerOption(flag, text, range)).toThrow(message);
  });

  it('reads values inside the range', () => {
    expect(integerOption('--vni', '16777215', VNI_RANGE)).toBe(16777215);
    expect(integerOption('--mtu', '1400', MTU_RANGE)).toBe(1400);
  });

  it.each([
    [() => parsePublish('4294967296:80'), '--publish: 4294967296 in "4294967296:80" is out of range; ports are 1 to 65535'],
    [() => parsePublish('8080:70000/udp'), '--publish: 70000 in "8080:70000/udp" is out of range'],
    [() => parsePublish('published=99999999999,target=80'), '--publish: 99999999999 in "published=99999999999,target=80" is out of range'],
    [() => parsePublish('target=0'), '--publish: 0 in "target=0" is out of range'],
    [() => parseHostPublish('65536:80'), '--publish: 65536 in "65536:80" is out of range'],
    [() => parseHostPublish('8080:4294967296/udp'), '--publish: 4294967296 in "8080:4294967296/udp" is out of range'],
  ])('a port: %#', (parse, message) => {
    expect(parse).toThrow(CommandError);
    expect(parse).toThrow(message);
  });
});

describe('parseReservedPorts', () => {
  it('reads comma-separated and repeated PORT[/tcp|udp], tcp by default', () => {
    expect(parseReservedPorts(['9100,5353/udp', '8000/tcp'])).toEqual([
      { protocol: 'tcp', port: 9100, reason: 'reserved with --reserved-ports' },
      { protocol: 'udp', port: 5353, reason: 'reserved with --reserved-ports' },
      { protocol: 'tcp', port: 8000, reason: 'reserved with --reserved-ports' },
    ]);
  });

  it.each([
    ['70000', '--reserved-ports: 70000 in "70000" is out of range'],
    ['0', '--reserved-ports: 0 in "0" is out of range'],
    ['9100/sctp', '--reserved-ports: "9100/sctp" is not PORT[/tcp|udp]'],
    ['http', '--reserved-ports: "http" is not PORT[/tcp|udp]'],
  ])('refuses %s, naming the flag', (spec, message) => {
    expect(() => parseReservedPorts([spec])).toThrow(message);
  });

  it('refuses more than a node may report', () => {
    expect(() => parseReservedPorts([Array.from({ length: 64 }, (_, i) => `${9000 + i}`).join(',')])).toThrow('--reserved-ports: 64 given; at most 63');
  });
});

describe('durationSeconds', () => {
  const range = { min: 0, max: 86_400 };
  it.each([
    ['0', 0],
    ['0s', 0],
    ['45s', 45],
    ['2m', 120],
    ['1h30m', 5_400],
    ['1d', 86_400],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(durationSeconds('--drain-timeout', text, range)).toBe(seconds);
  });

  it.each([
    ['30', '--drain-timeout: "30" is not a duration; give one like 30s, 5m, 1h30m or 2d'],
    ['1.5s', 'is not a duration'],
    ['-1s', 'is not a duration'],
    ['25h', '--drain-timeout: 25h is out of range; give 0s to 24h'],
  ])('refuses %s, naming the flag', (text, message) => {
    expect(() => durationSeconds('--drain-timeout', text, range)).toThrow(CommandError);
    expect(() => durationSeconds('--drain-timeout', text, range)).toThrow(message);
  });
});
