import fc from 'fast-check';
import { EndpointView, ManagerMessage, type NetworkSubnet, type NodeView, type ViewChunk, type ViewDelta } from '../../proto/gen/trellis/v1/dispatcher';
import { HeldView } from '../../proto/runtime/held-view';
import type { PackLimits } from './size-packing';
import { deltaParts, readinessMessages, viewChunks, viewLimits } from './view-chunks';

const wireBytes = (body: ManagerMessage['body']): number => ManagerMessage.encode({ body }).finish().length;
const chunkBytes = (chunk: ViewChunk): number => wireBytes({ $case: 'resync', value: chunk });
const deltaBytes = (delta: ViewDelta): number => wireBytes({ $case: 'delta', value: delta });
const itemsIn = (part: NodeView | undefined): number =>
  (part?.networks.length ?? 0) + (part?.sandboxes.length ?? 0) + (part?.endpoints.length ?? 0) + (part?.overlaySubnets.length ?? 0) + (part?.services.length ?? 0);

function endpoint(i: number, extraHosts: string[] = [], dns: string[] = []): EndpointView {
  return {
    id: `ep${i}`,
    networkId: 'net',
    sandboxId: 'sb',
    nodeId: 'n1',
    vtep: '198.18.0.1',
    ip: `10.0.${i >> 8}.${i & 255}`,
    prefixLength: 16,
    mac: '02:42:0a:00:00:00',
    interfaceName: 'eth0',
    hostname: '',
    extraHosts,
    dns,
    publishedPorts: i === 0 ? [{ protocol: 'tcp', hostPort: 8080, port: 80 }] : [],
    serviceId: '',
    draining: false,
    aliases: [],
    sandboxName: '',
  };
}

function bigView(endpoints: EndpointView[], overlaySubnets = 0): NodeView {
  return {
    revision: 42,
    nodeId: 'n1',
    nodeName: 'node-1',
    advertiseAddr: '198.18.0.1',
    networks: [{ driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, id: 'net', name: 'blue', vni: 4096, subnet: '10.0.0.0/16', gateway: '10.0.0.1', mtu: 0, internal: false }],
    sandboxes: [{ networkMode: '', sharesNetns: false, id: 'sb', name: 'web', netnsName: 'trsb-web', netnsPath: '' }],
    endpoints,
    members: [], overlaySubnets: Array.from({ length: overlaySubnets }, (_, i) => `10.${1 + (i >> 8)}.${i & 255}.0/24`),
    services: [],
  };
}

/** A delta from revision 42 to 43 of `bigView`'s node that adds or changes `endpoints`. */
const deltaOf = (endpoints: EndpointView[]): ViewDelta => ({
  fromRevision: 42,
  revision: 43,
  nodeName: 'node-1',
  advertiseAddr: '198.18.0.1',
  networkIds: ['net'],
  networks: [],
  sandboxes: [],
  removedSandboxIds: [],
  endpoints,
  removedEndpointIds: [],
  members: [], overlaySubnets: [],
  services: [],
  removedServiceIds: [],
  removedMembers: [],
  more: false,
});

const manyEndpoints = (count: number): EndpointView[] => Array.from({ length: count }, (_, i) => endpoint(i));

/** An endpoint as large as the per-field limits allow: 64 extra hosts of a 253-byte name each, and 3 resolvers. */
const largeEndpoint = (i: number): EndpointView =>
  endpoint(i, Array.from({ length: 64 }, (_, h) => `${`h${h}-${i}.`.padEnd(253, 'x')}:10.9.${h}.${i & 255}`), ['10.0.0.53', '10.0.1.53', '10.0.2.53']);

function assembled(chunks: ViewChunk[]): NodeView | undefined {
  const held = new HeldView();
  const views = chunks.map((chunk) => held.applyChunk(chunk));
  expect(views.slice(0, -1).every((view) => view === undefined)).toBe(true);
  return views[views.length - 1];
}

describe('viewChunks', () => {
  it('cuts a view of many small endpoints at 256 items a chunk; the chunks reassemble into the same view', () => {
    const view = bigView(manyEndpoints(600), 40);
    const { parts, dropped } = viewChunks(view);
    expect(parts.map((chunk) => [chunk.first, chunk.last, itemsIn(chunk.part)])).toEqual([
      [true, false, 256],
      [false, false, 256],
      [false, true, 130],
    ]);
    expect(dropped).toEqual([]);
    expect(assembled(parts)).toEqual(view);
  });

  it('cuts a view of 6 MB (endpoints at the per-field limits) into messages of at most 256 KiB', () => {
    const view = bigView(Array.from({ length: 300 }, (_, i) => largeEndpoint(i)));
    expect(wireBytes({ $case: 'resync', value: { part: view, first: true, last: true } })).toBeGreaterThan(4 * 1024 * 1024);
    const { parts } = viewChunks(view);
    for (const chunk of parts) expect(chunkBytes(chunk)).toBeLessThanOrEqual(viewLimits.budgetBytes);
    expect(assembled(parts)).toEqual(view);
  });

  it('sends an empty view as one chunk that is both first and last', () => {
    const view = { ...bigView([]), networks: [], sandboxes: [], overlaySubnets: [] };
    expect(viewChunks(view).parts).toEqual([{ part: view, first: true, last: true }]);
  });

  it('sends an endpoint over the budget alone, and leaves out (naming it) one over the message limit', () => {
    const limits: PackLimits = { budgetBytes: 2_000, maxMessageBytes: 20_000, maxItems: 256 };
    const alone = endpoint(1, Array.from({ length: 100 }, (_, h) => `alone-${h}.example:10.1.0.${h}`));
    const huge = endpoint(2, Array.from({ length: 1000 }, (_, h) => `huge-${h}.example:10.2.${h >> 8}.${h & 255}`));
    const view = { ...bigView([endpoint(0), alone, huge, endpoint(3)]), overlaySubnets: [] };
    const { parts, dropped } = viewChunks(view, limits);
    expect(dropped).toEqual(['endpoint ep2 (10.0.0.2 in network net)']);
    expect(parts.map((chunk) => chunk.part?.endpoints.map((e) => e.id))).toEqual([['ep0'], ['ep1'], ['ep3']]);
    expect(chunkBytes(parts[1] as ViewChunk)).toBeGreaterThan(limits.budgetBytes);
    expect(assembled(parts)).toEqual({ ...view, endpoints: [endpoint(0), alone, endpoint(3)] });
  });
});

/* Views and deltas of any shape: names and extra hosts of any Unicode, endpoints from a few bytes to past the message limit. */
const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const endpointArb = fc.record({
  id: fc.uuid(),
  networkId: text(12),
  sandboxId: text(12),
  nodeId: text(12),
  vtep: text(15),
  ip: text(15),
  prefixLength: fc.integer({ min: 0, max: 32 }),
  mac: text(17),
  interfaceName: text(15),
  hostname: text(63),
  extraHosts: fc.array(text(300), { maxLength: 40 }),
  dns: fc.array(text(15), { maxLength: 3 }),
  publishedPorts: fc.array(fc.record({ protocol: fc.constantFrom('tcp', 'udp'), hostPort: fc.nat(65535), port: fc.nat(65535) }), { maxLength: 3 }),
  serviceId: text(36),
  draining: fc.boolean(),
  aliases: fc.array(text(63), { maxLength: 4 }),
  sandboxName: text(63),
});
const networkArb = fc.record({
  id: fc.uuid(),
  name: text(63),
  driver: fc.constant(''), subnets: fc.constant<NetworkSubnet[]>([]), parent: fc.constant(''), mode: fc.constant(''), isolateSandboxes: fc.constant(false), vni: fc.nat(),
  subnet: text(18),
  gateway: text(15),
  mtu: fc.nat(9000),
  internal: fc.boolean(),
});
const serviceArb = fc.record({
  id: fc.uuid(),
  name: text(63),
  endpointMode: fc.constantFrom('vip', 'dnsrr'),
  ports: fc.array(
    fc.record({ protocol: fc.constantFrom('tcp', 'udp'), targetPort: fc.nat(65535), publishedPort: fc.nat(65535), publishMode: fc.constantFrom('ingress', 'host') }),
    { maxLength: 5 },
  ),
  vips: fc.array(fc.record({ networkId: fc.uuid(), networkName: text(63), ip: text(15) }), { maxLength: 4 }),
  drainTimeoutSeconds: fc.nat(),
  tcpIdleTimeoutSeconds: fc.nat(),
  udpIdleTimeoutSeconds: fc.nat(),
  revision: fc.nat(),
});
const sandboxArb = fc.record({ id: fc.uuid(), name: text(63), netnsName: text(20), networkMode: fc.constant(''), sharesNetns: fc.constant(false), netnsPath: text(40) });
const header = { revision: fc.nat(), nodeId: text(20), nodeName: text(63), advertiseAddr: text(15) };
const viewArb: fc.Arbitrary<NodeView> = fc.record({
  ...header,
  networks: fc.array(networkArb, { maxLength: 20 }),
  sandboxes: fc.array(sandboxArb, { maxLength: 20 }),
  endpoints: fc.array(endpointArb, { maxLength: 60 }),
  overlaySubnets: fc.array(text(18), { maxLength: 60 }),
  services: fc.array(serviceArb, { maxLength: 30 }),
  members: fc.constant([]),
});
const deltaArb: fc.Arbitrary<ViewDelta> = fc.record({
  fromRevision: fc.nat(),
  revision: fc.nat(),
  nodeName: text(63),
  advertiseAddr: text(15),
  networkIds: fc.array(fc.uuid(), { maxLength: 40 }),
  networks: fc.array(networkArb, { maxLength: 20 }),
  sandboxes: fc.array(sandboxArb, { maxLength: 20 }),
  removedSandboxIds: fc.array(fc.uuid(), { maxLength: 40 }),
  endpoints: fc.array(endpointArb, { maxLength: 60 }),
  removedEndpointIds: fc.array(fc.uuid(), { maxLength: 40 }),
  overlaySubnets: fc.array(text(18), { maxLength: 60 }),
  services: fc.array(serviceArb, { maxLength: 30 }),
  removedServiceIds: fc.array(fc.uuid(), { maxLength: 40 }),
  members: fc.constant([]),
  removedMembers: fc.constant([]),
  more: fc.constant(false),
});
const limitsArb: fc.Arbitrary<PackLimits> = fc.record({
  budgetBytes: fc.integer({ min: 1_000, max: 20_000 }),
  maxMessageBytes: fc.integer({ min: 20_000, max: 40_000 }),
  maxItems: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
});
/** The endpoints left in once those named in `dropped` are taken out, after checking each of those was indeed too large for a message. */
function keptEndpoints(endpoints: EndpointView[], dropped: string[], limits: PackLimits): EndpointView[] {
  const droppedIds = new Set(dropped.map((name) => /^endpoint (\S+) /.exec(name)?.[1]));
  for (const item of endpoints) {
    const alone = EndpointView.encode(item).finish().length;
    if (droppedIds.has(item.id)) expect(alone).toBeGreaterThan(limits.maxMessageBytes - 400);
    else expect(alone).toBeLessThanOrEqual(limits.maxMessageBytes);
  }
  return endpoints.filter((item) => !droppedIds.has(item.id));
}

describe('views and deltas cut by size (property)', () => {
  it('every resync chunk is within the budget (or holds one item within the limit), and the chunks reassemble into the view', () => {
    fc.assert(
      fc.property(viewArb, limitsArb, (view, limits) => {
        const { parts, dropped } = viewChunks(view, limits);
        for (const chunk of parts) {
          const bytes = chunkBytes(chunk);
          expect(bytes).toBeLessThanOrEqual(itemsIn(chunk.part) > 1 ? limits.budgetBytes : limits.maxMessageBytes);
          if (limits.maxItems !== undefined) expect(itemsIn(chunk.part)).toBeLessThanOrEqual(limits.maxItems);
        }
        expect(assembled(parts)).toEqual({ ...view, endpoints: keptEndpoints(view.endpoints, dropped, limits) });
      }),
      { numRuns: 300 },
    );
  });

  it('every delta part is within the budget, and the parts change the held view only at the last, exactly as the whole delta does', () => {
    fc.assert(
      fc.property(viewArb, deltaArb, limitsArb, (view, delta, limits) => {
        const { parts, dropped } = deltaParts(delta, limits);
        expect(parts.map((part) => part.more)).toEqual(parts.map((_, index) => index < parts.length - 1));
        for (const part of parts) {
          const items = part.networkIds.length + part.networks.length + part.sandboxes.length + part.removedSandboxIds.length
            + part.endpoints.length + part.removedEndpointIds.length + part.overlaySubnets.length + part.services.length + part.removedServiceIds.length;
          expect(deltaBytes(part)).toBeLessThanOrEqual(items > 1 ? limits.budgetBytes : limits.maxMessageBytes);
        }
        const byParts = new HeldView();
        byParts.applyChunk({ part: view, first: true, last: true });
        const results = parts.map((part) => {
          const result = byParts.applyDelta(part);
          if (part.more) expect(byParts.view()).toEqual(view);
          return result;
        });
        const whole = new HeldView();
        whole.applyChunk({ part: view, first: true, last: true });
        const expected = whole.applyDelta({ ...delta, endpoints: keptEndpoints(delta.endpoints, dropped, limits) });
        expect(results.slice(0, -1).every((result) => result === undefined)).toBe(true);
        expect(results[results.length - 1]).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('a delta that fits is sent whole, as it came', () => {
    const delta = deltaOf(manyEndpoints(1000));
    expect(deltaParts(delta).parts).toEqual([delta]);
  });
});

describe('readinessMessages', () => {
  it('splits a whole ready set of 20,000 endpoints into messages of at most 256 KiB: the first replaces, the rest add', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `0000000${i}-aaaa-bbbb-cccc-${String(i).padStart(12, '0')}`);
    const messages = readinessMessages({ replace: true, readyEndpointIds: ids, unreadyEndpointIds: [] });
    expect(messages.length).toBeGreaterThan(1);
    for (const readiness of messages) expect(wireBytes({ $case: 'readiness', value: readiness })).toBeLessThanOrEqual(viewLimits.budgetBytes);
    expect(messages.map((readiness) => readiness.replace)).toEqual(messages.map((_, index) => index === 0));
    expect(messages.flatMap((readiness) => readiness.readyEndpointIds)).toEqual(ids);
  });

  it('sends a small change as it came, in one message', () => {
    const change = { replace: false, readyEndpointIds: ['e1'], unreadyEndpointIds: ['e2'] };
    expect(readinessMessages(change)).toEqual([change]);
  });
});

describe('HeldView across sessions', () => {
  it('drops the parts of a delta a broken session left half-received', () => {
    const held = new HeldView();
    held.applyChunk({ part: bigView([endpoint(0)]), first: true, last: true });
    const half = { ...deltaOf([endpoint(5)]), more: true };
    expect(held.applyDelta(half)).toBeUndefined();
    held.discardPartial();
    const next = held.applyDelta({ ...half, revision: 44, endpoints: [endpoint(6)], more: false });
    expect(next?.endpoints.map((e) => e.id)).toEqual(['ep0', 'ep6']);
    expect(next?.revision).toBe(44);
  });
});
