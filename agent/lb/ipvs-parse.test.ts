import { parseIpvsNamespace } from './ipvs-parse';

describe('parseIpvsNamespace', () => {
  test('reads services, real servers, timeouts and expire_nodest_conn as the observe loop prints them', () => {
    const lines = [
      '-A -t 10.9.0.100:80 -s rr',
      '-a -t 10.9.0.100:80 -r 10.9.0.13:8080 -m -w 3',
      '-a -t 10.9.0.100:80 -r 10.9.0.12:8080 -m -w 0',
      '-A -u 10.9.0.100:53 -s wrr -p 300',
      '-a -u 10.9.0.100:53 -r 10.9.0.12:5353 -g -w 1',
      'Timeout (tcp tcpfin udp): 3600 120 600',
      '@expire 1',
      '@addr [{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.9.0.11","prefixlen":24}]}]',
      '@routes [{"dst":"10.9.0.100","dev":"lo","protocol":"211","scope":"link","prefsrc":"10.9.0.11","flags":[]}]',
    ];
    expect(parseIpvsNamespace(lines)).toEqual({
      services: [
        {
          protocol: 'tcp',
          vip: '10.9.0.100',
          port: 80,
          scheduler: 'rr',
          options: '',
          realServers: [
            { ip: '10.9.0.12', port: 8080, weight: 0, forwarding: '-m' },
            { ip: '10.9.0.13', port: 8080, weight: 3, forwarding: '-m' },
          ],
        },
        { protocol: 'udp', vip: '10.9.0.100', port: 53, scheduler: 'wrr', options: '-p 300', realServers: [{ ip: '10.9.0.12', port: 5353, weight: 1, forwarding: '-g' }] },
      ],
      timeouts: { tcp: 3600, tcpFin: 120, udp: 600 },
      expireNodestConn: true,
      addresses: ['127.0.0.1/8', '10.9.0.11/24'],
      vipRoutes: [{ vip: '10.9.0.100', src: '10.9.0.11' }],
    });
  });

  test('an empty namespace has no services, IPVS default timeouts and expire_nodest_conn off; ip prints nothing for no routes', () => {
    expect(parseIpvsNamespace(['Timeout (tcp tcpfin udp): 900 120 300', '@expire 0', '@routes '])).toEqual({
      services: [],
      timeouts: { tcp: 900, tcpFin: 120, udp: 300 },
      expireNodestConn: false,
      addresses: [],
      vipRoutes: [],
    });
  });

  test('fwmark and IPv6 services, which the engine never writes, are not listed, nor their real servers', () => {
    const observed = parseIpvsNamespace(['-A -f 7 -s rr', '-a -f 7 -r 10.0.0.2:0 -m -w 1', '-A -t [fd00::1]:80 -s rr', '-a -t [fd00::1]:80 -r [fd00::2]:80 -m -w 1']);
    expect(observed.services).toEqual([]);
  });

  test('sorts services and real servers numerically, not as text', () => {
    const observed = parseIpvsNamespace(['-A -t 10.0.0.10:80 -s rr', '-A -t 10.0.0.9:80 -s rr', '-a -t 10.0.0.9:80 -r 10.0.1.10:80 -m -w 1', '-a -t 10.0.0.9:80 -r 10.0.1.9:80 -m -w 1']);
    expect(observed.services.map((service) => service.vip)).toEqual(['10.0.0.9', '10.0.0.10']);
    expect(observed.services[0]?.realServers.map((real) => real.ip)).toEqual(['10.0.1.9', '10.0.1.10']);
  });
});
