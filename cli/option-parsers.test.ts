import { CommandError } from './control-client';
import { keyValues, networkAddressing, parseHostPublish, parsePublish } from './option-parsers';

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
});
