import { kindIsMissing, parseHostInterfaces, parsePortRange } from './parse';

const ADDR_SHOW = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  {
    ifindex: 2, ifname: 'eth0', flags: ['UP'],
    addr_info: [{ family: 'inet', local: '198.18.0.5', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }],
  },
  { ifindex: 3, ifname: 'trellis_gw', linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '172.29.0.1', prefixlen: 16 }] },
  { ifindex: 4, ifname: 'trlb-abcdef0123', linkinfo: { info_kind: 'bridge' }, addr_info: [] },
  { ifindex: 5, ifname: 'trve-ep1', linkinfo: { info_kind: 'veth' }, addr_info: [] },
  { ifindex: 6, ifname: 'br-lan', linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '10.0.0.1', prefixlen: 24 }] },
]);

describe('node facts', () => {
  it('reports the host interfaces with their kind and IPv4 addresses, without lo and without Trellis links', () => {
    expect(parseHostInterfaces(ADDR_SHOW)).toEqual([
      { name: 'br-lan', kind: 'bridge', addresses: ['10.0.0.1/24'] },
      { name: 'eth0', kind: '', addresses: ['198.18.0.5/24'] },
    ]);
  });

  it('trims a report the managers would refuse: at most 128 interfaces, devices of its own before veths, 8 addresses each', () => {
    const veths = Array.from({ length: 200 }, (_, index) => ({ ifindex: 100 + index, ifname: `veth${index}`, linkinfo: { info_kind: 'veth' }, addr_info: [] }));
    const crowded = { ifindex: 2, ifname: 'eth0', addr_info: Array.from({ length: 12 }, (_, index) => ({ family: 'inet', local: `198.18.0.${index + 1}`, prefixlen: 24 })) };
    const reported = parseHostInterfaces(JSON.stringify([...veths, crowded]));
    expect(reported).toHaveLength(128);
    expect(reported.find((link) => link.name === 'eth0')?.addresses).toHaveLength(8);
  });

  it('reads the ephemeral port range as the kernel prints it, and refuses what is not a range', () => {
    expect(parsePortRange('32768\t60999\n')).toEqual({ first: 32768, last: 60999 });
    expect(parsePortRange('1024 65535')).toEqual({ first: 1024, last: 65535 });
    expect(parsePortRange('60999 32768')).toBeUndefined();
    expect(parsePortRange('0 70000')).toBeUndefined();
    expect(parsePortRange('')).toBeUndefined();
  });

  it('tells a link kind the kernel lacks from a probe that failed', () => {
    expect(kindIsMissing('Error: Unknown device type.\n')).toBe(true);
    expect(kindIsMissing('RTNETLINK answers: Operation not supported\n')).toBe(true);
    expect(kindIsMissing('RTNETLINK answers: File exists\n')).toBe(false);
    expect(kindIsMissing('Cannot open network namespace "x": No such file or directory\n')).toBe(false);
  });
});
