import fc from 'fast-check';
import {
  cidrContains,
  cidrContainsCidr,
  formatCidr,
  formatIpv4,
  lastAddress,
  macForIpv4,
  parseCidr,
  parseIpv4,
  type Cidr,
} from './ipv4';

const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`test setup: ${text} is not a CIDR`);
  return parsed.cidr;
};

describe('parseIpv4 / formatIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.1.2', 0x0a000102],
    ['255.255.255.255', 0xffffffff],
  ])('reads %s', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
    expect(formatIpv4(value)).toBe(text);
  });

  it.each(['', '10.0.0', '10.0.0.0.1', '256.0.0.1', '10.0.0.01', '10.0.0.-1', '10.0.0.1 ', 'a.b.c.d', '1e2.0.0.1', '10..0.1'])(
    'rejects %j',
    (text) => expect(parseIpv4(text)).toBeUndefined(),
  );

  it('round-trips every 32-bit value', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => parseIpv4(formatIpv4(value)) === value));
  });
});

describe('parseCidr', () => {
  it('reads a network', () => {
    expect(parseCidr('10.0.1.0/24')).toEqual({ ok: true, cidr: { network: 0x0a000100, prefixLength: 24 } });
    expect(formatCidr(cidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
    expect(formatCidr(cidr('10.0.0.7/32'))).toBe('10.0.0.7/32');
  });

  it('points at the network address when host bits are set', () => {
    const parsed = parseCidr('10.0.1.5/24');
    expect(parsed).toEqual({ ok: false, reason: 'host-bits', network: cidr('10.0.1.0/24') });
  });

  it.each(['10.0.1.0', '10.0.1.0/', '10.0.1.0/33', '10.0.1.0/024', '10.0.1/24', '10.0.1.0/2a', '/24'])('rejects %j', (text) => {
    expect(parseCidr(text)).toEqual({ ok: false, reason: 'syntax' });
  });
});

describe('CIDR arithmetic', () => {
  it('knows the last address', () => {
    expect(formatIpv4(lastAddress(cidr('10.0.1.0/24')))).toBe('10.0.1.255');
    expect(formatIpv4(lastAddress(cidr('0.0.0.0/0')))).toBe('255.255.255.255');
    expect(formatIpv4(lastAddress(cidr('10.0.0.4/30')))).toBe('10.0.0.7');
  });

  it('knows containment', () => {
    const subnet = cidr('10.0.0.0/16');
    expect(cidrContains(subnet, parseIpv4('10.0.255.255')!)).toBe(true);
    expect(cidrContains(subnet, parseIpv4('10.1.0.0')!)).toBe(false);
    expect(cidrContainsCidr(subnet, cidr('10.0.4.0/22'))).toBe(true);
    expect(cidrContainsCidr(subnet, cidr('10.0.0.0/8'))).toBe(false);
    expect(cidrContainsCidr(subnet, cidr('10.1.0.0/24'))).toBe(false);
  });

  it('contains exactly the addresses from network to last', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 0xffffffff }), (seed, prefixLength, address) => {
        const parsed = parseCidr(`${formatIpv4(seed)}/${prefixLength}`);
        const block = parsed.ok ? parsed.cidr : parsed.reason === 'host-bits' ? parsed.network : undefined;
        if (!block) return false;
        return cidrContains(block, address) === (address >= block.network && address <= lastAddress(block));
      }),
    );
  });
});

describe('macForIpv4', () => {
  it('follows the Docker scheme in two-digit lower-case hex', () => {
    expect(macForIpv4(parseIpv4('10.0.1.2')!)).toBe('02:42:0a:00:01:02');
    expect(macForIpv4(parseIpv4('172.31.255.254')!)).toBe('02:42:ac:1f:ff:fe');
  });
});
