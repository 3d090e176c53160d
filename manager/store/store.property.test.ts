import fc from 'fast-check';
import type { Network } from '../../proto/gen/trellis/v1/types';
import type { Command, CreateNetwork } from './commands';
import { Store } from './store';
import { withDistinctIds } from './test-commands';

const networkName = fc.constantFrom('a', 'b', 'c');
const sandboxName = fc.constantFrom('s1', 's2', 's3', 's4');
const nodeName = fc.constantFrom('n1', 'n2', 'n3');

/** Commands over a few names and small subnets, so collisions and exhaustion happen often. Ids are filled in later. */
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('createNetwork' as const),
    id: fc.constant(''),
    name: networkName,
    driver: fc.constant(''),
    subnet: fc.constantFrom('10.0.1.0/29', '10.0.2.0/30', '10.0.3.0/24', '10.0.4.5/24'),
    ipRange: fc.constantFrom(undefined, '10.0.3.8/30'),
  }),
  fc.record({ type: fc.constant('removeNetwork' as const), network: networkName }),
  fc.record({ type: fc.constant('registerNode' as const), id: fc.constant(''), name: nodeName, advertiseAddr: fc.constantFrom('192.168.0.1', '192.168.0.2') }),
  fc.record({ type: fc.constant('createSandbox' as const), id: fc.constant(''), name: sandboxName, node: nodeName }),
  fc.record({ type: fc.constant('removeSandbox' as const), sandbox: sandboxName }),
  fc.record({
    type: fc.constant('connect' as const),
    endpointId: fc.constant(''),
    network: networkName,
    sandbox: sandboxName,
    ip: fc.constantFrom(undefined, '10.0.1.2', '10.0.3.9', '10.0.3.10'),
    aliases: fc.constantFrom([], ['x'], ['bad_alias']),
    publishedPorts: fc.constantFrom(undefined, [{ hostPort: 8080, port: 80 }], [{ hostPort: 0, port: 80 }]),
  }),
  fc.record({ type: fc.constant('disconnect' as const), network: networkName, sandbox: sandboxName }),
);

describe('Store under random command sequences', () => {
  it('refused commands change nothing, addresses stay unique, and a restored copy decides alike', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), fc.nat(60), (generated, restoreAt) => {
        const store = new Store();
        let copy: Store | undefined;
        generated.map(withDistinctIds).forEach((next, index) => {
          if (index === restoreAt) copy = Store.restore(store.snapshot());
          const before = store.snapshot();
          const result = store.apply(next);
          if (!result.ok) expect(store.snapshot()).toEqual(before);
          if (copy) expect(copy.apply(next)).toEqual(result);
        });
        if (copy) expect(copy.snapshot()).toEqual(store.snapshot());
        for (const network of store.networks()) {
          const addresses = [network.gateway, ...network.endpoints.map((endpoint) => endpoint.ip)];
          expect(new Set(addresses).size).toBe(addresses.length);
        }
        const vnis = store.networks().map((network) => network.vni);
        expect(new Set(vnis).size).toBe(vnis.length);
      }),
    );
  });
});

describe('Store addresses under random interleavings', () => {
  const nets = fc.constantFrom('a', 'b', 'c');
  const boxes = fc.constantFrom('s1', 's2', 's3', 's4', 's5');
  const services = fc.constantFrom('v1', 'v2');
  /** Small subnets (so they fill up), overlapping across networks, with gateways, ranges and aux addresses to avoid. */
  const addressing = fc.constantFrom<Partial<CreateNetwork>>(
    { subnet: '10.0.1.0/29' },
    { subnet: '10.0.1.0/29', gateway: '10.0.1.6', ipRange: '10.0.1.4/30' },
    { ipam: [{ subnet: '10.0.1.0/29', auxAddresses: { r: '10.0.1.3' } }, { subnet: '10.0.2.0/30' }] },
    { ipam: [{ subnet: '10.0.2.0/30' }, { subnet: '10.0.3.0/28', gateway: '10.0.3.14', ipRange: '10.0.3.8/30', auxAddresses: { x: '10.0.3.9', y: '10.0.3.1' } }] },
    {},
  );
  // Weighted towards creating and connecting, so networks fill up before they are removed.
  const step: fc.Arbitrary<Command> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({ type: fc.constant('createNetwork' as const), id: fc.constant(''), name: nets, driver: fc.constant(''), extra: addressing })
        .map(({ extra, ...base }): Command => ({ ...base, ...extra })),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('removeNetwork' as const), network: nets }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('createSandbox' as const), id: fc.constant(''), name: boxes, node: fc.constant('n1') }) },
    // Drains: `at` makes a backend of a service with a drain timeout drain; finishDrain's ids are filled in when it runs.
    { weight: 1, arbitrary: fc.record({ type: fc.constant('removeSandbox' as const), sandbox: boxes, at: fc.constantFrom(undefined, 1_000) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('finishDrain' as const), endpointIds: fc.constant([]), at: fc.constantFrom(3_000, 10_000, 40_000) }) },
    {
      weight: 8,
      arbitrary: fc.record({
        type: fc.constant('connect' as const),
        endpointId: fc.constant(''),
        network: nets,
        sandbox: boxes,
        ip: fc.constantFrom(undefined, undefined, undefined, '10.0.1.2', '10.0.1.3', '10.0.1.5', '10.0.2.1', '10.0.2.2', '10.0.3.9', '10.0.3.10'),
        aliases: fc.constant([]),
        service: fc.constantFrom(undefined, undefined, 'v1', 'v2'),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ type: fc.constant('disconnect' as const), network: nets, sandbox: boxes, at: fc.constantFrom(undefined, 1_000), force: fc.constantFrom(undefined, true) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('createService' as const),
        id: fc.constant(''),
        name: services,
        networks: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
        endpointMode: fc.constantFrom('vip', 'dnsrr'),
        drainTimeoutSeconds: fc.constantFrom(undefined, 0, 5),
      }),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('removeService' as const), service: services }) },
  );
  const setup: Command[] = [
    { type: 'registerNode', id: 'n1-id', name: 'n1', advertiseAddr: '192.168.0.1' },
    // Four /29 blocks only, so the default pool runs out and comes back.
    { type: 'setDefaultAddressPools', pools: [{ base: '10.0.0.0/27', size: 29 }] },
  ];
  const freshStore = (): Store => {
    const store = new Store();
    for (const command of setup) expect(store.apply(command).ok).toBe(true);
    return store;
  };

  /** Every address a network holds: gateways, aux addresses, endpoints, VIPs. */
  function heldAddresses(store: Store, network: Network): string[] {
    const vips = store.services().flatMap((service) => service.vips.filter((vip) => vip.networkId === network.id).map((vip) => vip.ip));
    return [
      ...network.ipam.flatMap((config) => [config.gateway, ...Object.values(config.auxAddresses)]),
      ...network.endpoints.map((endpoint) => endpoint.ip),
      ...vips,
    ];
  }

  /** Connects new sandboxes to every network until each is full (the subnets here hold fewer than 20 addresses). */
  function fillEveryNetwork(store: Store): Command[] {
    return Array.from({ length: 20 }, (_, k): Command[] => {
      const sandbox = `f${String(k).padStart(3, '0')}-fill-box`;
      return [
        { type: 'createSandbox', id: sandbox, name: sandbox, node: 'n1' },
        ...store.networks().map((network): Command => ({ type: 'connect', endpointId: `${sandbox}-${network.name}`, network: network.id, sandbox, aliases: [] })),
      ];
    }).flat();
  }

  /** A finishDrain names the endpoints draining when it runs, as the leader's loop does. */
  const withDrainingIds = (store: Store, command: Command): Command =>
    command.type === 'finishDrain' ? { ...command, endpointIds: store.drains().map((drain) => drain.endpointId) } : command;

  /** Everything's result apart from the revision it happened at. */
  function withoutRevisions(value: unknown): unknown {
    return JSON.parse(JSON.stringify(value, (key, inner: unknown) => (key === 'createdRevision' || key === 'updatedRevision' ? undefined : inner)));
  }

  it('never gives one address twice in a network, and frees everything on release', () => {
    fc.assert(
      fc.property(fc.tuple(addressing, addressing, addressing), fc.array(step, { minLength: 20, maxLength: 120 }), (initial, generated) => {
        const store = freshStore();
        // Every name exists at the start, so most steps act on something; the steps then remove and recreate them.
        const opening: Command[] = [
          ...['a', 'b', 'c'].map((name, index): Command => ({ type: 'createNetwork', id: '', name, driver: '', ...initial[index] })),
          ...['s1', 's2', 's3', 's4', 's5'].map((name): Command => ({ type: 'createSandbox', id: '', name, node: 'n1' })),
        ];
        [...opening, ...generated].map(withDistinctIds).forEach((drawn) => {
          const next = withDrainingIds(store, drawn);
          const before = store.snapshot();
          if (!store.apply(next).ok) expect(store.snapshot()).toEqual(before);
          for (const network of store.networks()) {
            const held = heldAddresses(store, network);
            expect(new Set(held).size).toBe(held.length);
          }
        });

        // The allocators are derived from the records: rebuilt from a snapshot, they must hand out exactly what the live ones do.
        const rebuilt = Store.restore(store.snapshot());
        for (const command of fillEveryNetwork(store)) expect(rebuilt.apply(command)).toEqual(store.apply(command));

        const drains = store.drains().map((drain) => drain.endpointId);
        if (drains.length > 0) expect(store.apply({ type: 'finishDrain', endpointIds: drains, at: Number.MAX_SAFE_INTEGER }).ok).toBe(true);
        for (const sandbox of store.sandboxes()) expect(store.apply({ type: 'removeSandbox', sandbox: sandbox.id }).ok).toBe(true);
        for (const service of store.services()) expect(store.apply({ type: 'removeService', service: service.id }).ok).toBe(true);
        for (const network of store.networks()) expect(store.apply({ type: 'removeNetwork', network: network.id }).ok).toBe(true);

        const fresh = freshStore();
        expect({ ...store.snapshot(), revision: 0 }).toEqual({ ...fresh.snapshot(), revision: 0 });
        // Nor are they in the snapshot: once everything is released, the same commands must decide the same as on a fresh store.
        const probe: Command[] = [
          { type: 'createNetwork', id: 'p1', name: 'p1', driver: '' },
          { type: 'createNetwork', id: 'p2', name: 'p2', driver: '', ipam: [{ subnet: '10.0.1.0/29' }, { subnet: '10.0.2.0/30' }] },
          { type: 'createSandbox', id: 'probe-box-1', name: 'probe', node: 'n1' },
          { type: 'createService', id: 'ps', name: 'ps', networks: ['p1', 'p2'] },
          { type: 'connect', endpointId: 'pe1', network: 'p1', sandbox: 'probe', aliases: [] },
          { type: 'connect', endpointId: 'pe2', network: 'p2', sandbox: 'probe', aliases: [] },
        ];
        for (const command of probe) expect(withoutRevisions(store.apply(command))).toEqual(withoutRevisions(fresh.apply(command)));
      }),
      { numRuns: 200 },
    );
  });
});
