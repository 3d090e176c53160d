import { parseArpRetransByDevice, parseDefaultRoute, parseFdb, parseLinks, parseNeighbours, parseNetnsNames } from './iproute-json';

// Trimmed from real iproute2 6.1 output.
const LINKS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, address: '00:00:00:00:00:00', ifalias: 'trellis-owner=a',
    addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
  { ifindex: 3, ifname: 'trvx-100', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1450, master: 'trbr-100', address: 'CA:CF:88:9C:78:D3',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 100, local: '198.18.0.1', link: 'eth0', port: 4789, learning: false, proxy: true }, info_slave_kind: 'bridge' } },
  { ifindex: 5, link_index: 2, ifname: 'trve-abc', flags: ['BROADCAST', 'MULTICAST'], mtu: 1450, master: 'trbr-100', address: 'ea:1e:9e:c5:0e:23',
    link_netnsid: 1, linkinfo: { info_kind: 'veth' } },
  { ifindex: 6, link: 'peer', ifname: 'local-veth', flags: [], mtu: 1500, address: 'ea:1e:9e:c5:0e:24', linkinfo: { info_kind: 'veth' } },
]);

describe('iproute2 JSON', () => {
  test('links keep every attribute the reconciler compares', () => {
    const [lo, vxlan, veth, localVeth] = parseLinks(LINKS);
    expect(lo).toMatchObject({ name: 'lo', kind: '', up: true, alias: 'trellis-owner=a', addresses: ['127.0.0.1/8'] });
    expect(vxlan).toMatchObject({
      name: 'trvx-100', kind: 'vxlan', mtu: 1450, up: true, master: 'trbr-100', mac: 'ca:cf:88:9c:78:d3',
      vxlan: { vni: 100, local: '198.18.0.1', port: 4789, underlayDevice: 'eth0', learning: false, proxy: true },
    });
    expect(veth).toMatchObject({ kind: 'veth', ifindex: 5, peerIfindex: 2, up: false });
    expect(localVeth?.peerIfindex).toBeUndefined();
  });

  test("FDB keeps the devices' own entries, not the bridge's", () => {
    const text = JSON.stringify([
      { mac: 'ca:cf:88:9c:78:d3', ifname: 'trvx-100', flags: [], master: 'trbr-100', state: 'permanent' },
      { mac: '02:42:0a:e7:01:03', ifname: 'trvx-100', dst: '198.18.0.2', flags: ['self'], state: 'permanent' },
      { mac: '02:42:0a:e7:01:04', ifname: 'trvx-100', dst: '198.18.0.3', flags: ['self'] },
    ]);
    expect(parseFdb(text)).toEqual([
      { device: 'trvx-100', mac: '02:42:0a:e7:01:03', dst: '198.18.0.2', permanent: true },
      { device: 'trvx-100', mac: '02:42:0a:e7:01:04', dst: '198.18.0.3', permanent: false },
    ]);
  });

  test('neighbours, default routes and namespace names', () => {
    expect(parseNeighbours(JSON.stringify([
      { dst: '10.231.1.3', dev: 'trvx-100', lladdr: '02:42:0a:e7:01:03', state: ['PERMANENT'] },
      { dst: '10.231.1.9', dev: 'trvx-100', state: ['INCOMPLETE'] },
    ]))).toEqual([
      { device: 'trvx-100', ip: '10.231.1.3', mac: '02:42:0a:e7:01:03', permanent: true },
      { device: 'trvx-100', ip: '10.231.1.9', mac: undefined, permanent: false },
    ]);
    expect(parseDefaultRoute('[{"dst":"default","gateway":"10.231.1.1","dev":"eth0","flags":[]}]')).toEqual({ gateway: '10.231.1.1', device: 'eth0' });
    expect(parseDefaultRoute('[{"dst":"default","dev":"eth0","flags":[]}]')).toEqual({ gateway: '', device: 'eth0' });
    expect(parseNetnsNames('[{"name":"trsb-a"},{"name":"x","id":0}]')).toEqual(['trsb-a', 'x']);
  });

  test("ARP retransmit intervals by device, without the table default or IPv6's", () => {
    // Trimmed from real `ip -j ntable show` output.
    const text = JSON.stringify([
      { family: 'inet', name: 'arp_cache', thresh1: 128, gc_interval: 30000, refcnt: 1, reachable: 25224, base_reachable: 30000, retrans: 1000, gc_stale: 60000 },
      { family: 'inet', name: 'arp_cache', dev: 'eth0', refcnt: 2, reachable: 24708, base_reachable: 30000, retrans: 20, gc_stale: 60000 },
      { family: 'inet', name: 'arp_cache', dev: 'lo', refcnt: 1, reachable: 22576, base_reachable: 30000, retrans: 1000, gc_stale: 60000 },
      { family: 'inet6', name: 'ndisc_cache', dev: 'eth0', refcnt: 1, reachable: 28584, base_reachable: 30000, retrans: 1000, gc_stale: 60000 },
    ]);
    expect(parseArpRetransByDevice(text)).toEqual(new Map([['eth0', 20], ['lo', 1000]]));
    expect(parseArpRetransByDevice('')).toEqual(new Map());
  });

  test('empty dumps print nothing at all and mean nothing there', () => {
    expect(parseNetnsNames('')).toEqual([]);
    expect(parseDefaultRoute('\n')).toBeUndefined();
  });
});
