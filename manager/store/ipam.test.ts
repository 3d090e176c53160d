import type { CreateNetwork } from './commands';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

const network = (fields: Partial<CreateNetwork>): CreateNetwork => ({ type: 'createNetwork', id: `${fields.name}-id`, name: 'x', driver: '', ...fields });

describe('networks with several subnets', () => {
  const multi = network({
    name: 'multi',
    ipam: [
      { subnet: '10.0.2.0/30', auxAddresses: { router: '10.0.2.2' } },
      { subnet: '10.0.3.0/24', gateway: '10.0.3.254', ipRange: '10.0.3.16/28', auxAddresses: { dns: '10.0.3.16' } },
    ],
  });

  it('mirrors the first subnet in subnet/gateway/ip_range and shows every one in ipam', () => {
    const created = must(twoNodeStore(), multi);
    expect(created).toMatchObject({ subnet: '10.0.2.0/30', gateway: '10.0.2.1', ipRange: '' });
    expect(created.ipam).toEqual([
      { subnet: '10.0.2.0/30', gateway: '10.0.2.1', ipRange: '', auxAddresses: { router: '10.0.2.2' } },
      { subnet: '10.0.3.0/24', gateway: '10.0.3.254', ipRange: '10.0.3.16/28', auxAddresses: { dns: '10.0.3.16' } },
    ]);
  });

  it('hands out the first subnet with room, from its ip_range, around aux addresses, with that subnet\'s prefix', () => {
    const store = twoNodeStore();
    must(store, multi);
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    // 10.0.2.0/30: .1 is the gateway and .2 an aux address, so the first subnet is already full.
    const web = must(store, { type: 'connect', endpointId: 'e1', network: 'multi', sandbox: 'web', aliases: [] });
    const db = must(store, { type: 'connect', endpointId: 'e2', network: 'multi', sandbox: 'db', aliases: [] });
    const cache = must(store, { type: 'connect', endpointId: 'e3', network: 'multi', sandbox: 'cache', ip: '10.0.3.200', aliases: [] });
    expect([web.ip, db.ip, cache.ip]).toEqual(['10.0.3.17', '10.0.3.18', '10.0.3.200']);
    expect(web.prefixLength).toBe(24);
  });

  it('gives a static address in the first subnet that subnet\'s prefix length', () => {
    const store = twoNodeStore();
    must(store, network({ name: 'pair', ipam: [{ subnet: '10.0.2.0/25' }, { subnet: '10.0.3.0/24' }] }));
    expect(must(store, { type: 'connect', endpointId: 'e1', network: 'pair', sandbox: 'web', ip: '10.0.2.100', aliases: [] }).prefixLength).toBe(25);
  });

  it('allows the same subnet in two networks: each has its own namespace', () => {
    const store = twoNodeStore();
    const twin = must(store, network({ name: 'twin', subnet: '10.0.1.0/24' }));
    expect(must(store, { type: 'connect', endpointId: 'e1', network: 'twin', sandbox: 'web', aliases: [] }).ip).toBe('10.0.1.2');
    expect(twin.vni).toBe(4097);
  });
});

describe('default address pools', () => {
  it('give the lowest /24 of 10.0.0.0/8 that no network overlaps', () => {
    const store = twoNodeStore();
    expect(must(store, network({ name: 'a' })).ipam).toEqual([{ subnet: '10.0.0.0/24', gateway: '10.0.0.1', ipRange: '', auxAddresses: {} }]);
    // 10.0.1.0/24 is "front"'s.
    expect(must(store, network({ name: 'b' })).subnet).toBe('10.0.2.0/24');
    must(store, network({ name: 'wide', subnet: '10.0.4.0/22' }));
    expect(must(store, network({ name: 'c' })).subnet).toBe('10.0.3.0/24');
    expect(must(store, network({ name: 'd' })).subnet).toBe('10.0.8.0/24');
    must(store, { type: 'removeNetwork', network: 'a' });
    expect(must(store, network({ name: 'e' })).subnet).toBe('10.0.0.0/24');
  });

  it('can be replaced, and are kept in snapshots', () => {
    const store = new Store();
    expect(store.defaultAddressPools()).toEqual([{ base: '10.0.0.0/8', size: 24 }]);
    must(store, { type: 'setDefaultAddressPools', pools: [{ base: '172.30.0.0/16', size: 26 }, { base: '192.168.100.0/24', size: 24 }] });
    const subnets = [1, 2, 3, 4, 5].map((n) => must(store, network({ name: `n${n}` })).subnet);
    expect(subnets).toEqual(['172.30.0.0/26', '172.30.0.64/26', '172.30.0.128/26', '172.30.0.192/26', '172.30.1.0/26']);
    expect(Store.restore(store.snapshot()).defaultAddressPools()).toEqual(store.defaultAddressPools());
  });

  it('move on to the next pool when one is full', () => {
    const store = new Store();
    must(store, { type: 'setDefaultAddressPools', pools: [{ base: '10.9.0.0/24', size: 24 }, { base: '10.8.0.0/16', size: 24 }] });
    expect(must(store, network({ name: 'a' })).subnet).toBe('10.9.0.0/24');
    expect(must(store, network({ name: 'b' })).subnet).toBe('10.8.0.0/24');
  });
});

describe('network options', () => {
  it('keeps mtu, internal, attachable, labels and a requested VNI, and passes mtu and internal to agents', () => {
    const store = twoNodeStore();
    const created = must(store, network({ name: 'opts', subnet: '10.0.2.0/24', mtu: 1400, internal: true, attachable: true, labels: { z: '1', a: '' }, vni: 5000 }));
    expect(created).toMatchObject({ mtu: 1400, internal: true, attachable: true, labels: { a: '', z: '1' }, vni: 5000 });
    must(store, { type: 'connect', endpointId: 'e1', network: 'opts', sandbox: 'web', aliases: [] });
    expect(store.nodeView('node-a-id').networks.find((view) => view.name === 'opts')).toMatchObject({ mtu: 1400, internal: true, vni: 5000 });
    // The requested VNI is not handed out automatically, and comes back when the network goes.
    expect(must(store, network({ name: 'next', subnet: '10.0.3.0/24' })).vni).toBe(4097);
    must(store, { type: 'disconnect', network: 'opts', sandbox: 'web' });
    must(store, { type: 'removeNetwork', network: 'opts' });
    expect(must(store, network({ name: 'again', subnet: '10.0.2.0/24', vni: 5000 })).vni).toBe(5000);
  });
});
