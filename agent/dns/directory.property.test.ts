import fc from 'fast-check';
import type { EndpointView, NodeView, ServiceView } from '../../proto/gen/trellis/v1/dispatcher';
import { buildDirectory } from './directory';
import { endpoint, service } from './test-views';

/*
 * Random views: up to four networks, sandboxes on three nodes (some local ones sharing a
 * namespace), names drawn from a small pool so that sandbox names, hostnames, aliases and
 * services collide, services in both modes, random readiness and draining. Each question is
 * checked against the rules applied by brute force over the whole view.
 */

const NAMES = ['web', 'db', 'api', 'x.y', 'cache'];
const NODES = ['A', 'B', 'C'];
const NAMESPACES = ['ns-1', 'ns-2', 'ns-3'];

interface Sandbox {
  name: string;
  node: string;
  netns: string;
  endpoints: { network: number; hostname: string; aliases: string[]; service: number; draining: boolean; ready: boolean }[];
}

const sandboxArbitrary = (networks: number): fc.Arbitrary<Sandbox> =>
  fc.record({
    name: fc.constantFrom(...NAMES),
    node: fc.constantFrom(...NODES),
    netns: fc.constantFrom(...NAMESPACES),
    endpoints: fc.uniqueArray(
      fc.record({
        network: fc.nat({ max: networks - 1 }),
        hostname: fc.constantFrom('', ...NAMES),
        aliases: fc.subarray(NAMES, { maxLength: 2 }),
        service: fc.integer({ min: -1, max: 2 }),
        draining: fc.boolean(),
        ready: fc.boolean(),
      }),
      { selector: (candidate) => candidate.network, maxLength: networks },
    ),
  });

const viewArbitrary = fc.integer({ min: 1, max: 4 }).chain((networks) =>
  fc.record({
    networks: fc.constant(networks),
    sandboxes: fc.array(sandboxArbitrary(networks), { minLength: 1, maxLength: 10 }),
    services: fc.array(
      fc.record({ name: fc.constantFrom(...NAMES), dnsrr: fc.boolean(), vipNetworks: fc.subarray([...Array(networks).keys()]) }),
      { minLength: 3, maxLength: 3 },
    ),
  }),
);

type Generated = typeof viewArbitrary extends fc.Arbitrary<infer T> ? T : never;

function toView(generated: Generated): { view: NodeView; ready: Set<string> } {
  const ready = new Set<string>();
  const endpoints: EndpointView[] = generated.sandboxes.flatMap((sandbox, index) =>
    sandbox.endpoints.map((part) => {
      const id = `e${index}-${part.network}`;
      if (part.ready) ready.add(id);
      return endpoint(id, {
        sandboxId: `sb${index}`, nodeId: sandbox.node, networkId: `n${part.network}`, ip: `10.${part.network}.${index}.2`,
        sandboxName: sandbox.name, hostname: part.hostname, aliases: part.aliases, draining: part.draining,
        serviceId: part.service < 0 ? '' : `svc${part.service}`, interfaceName: `eth${part.network}`,
      });
    }),
  );
  const services: ServiceView[] = generated.services.map((spec, index) =>
    service(`svc${index}`, spec.name, spec.dnsrr ? 'dnsrr' : 'vip', spec.dnsrr ? [] : spec.vipNetworks.map((network) => ({ networkId: `n${network}`, ip: `10.${network}.200.${index}` }))),
  );
  const networks = [...Array(generated.networks).keys()].map((index) => ({
    id: `n${index}`, name: `net-${(index * 7) % 5}`, driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 100 + index, subnet: `10.${index}.0.0/16`, gateway: `10.${index}.0.1`, mtu: 0, internal: index === 1,
  }));
  const sandboxes = generated.sandboxes.flatMap((sandbox, index) => (sandbox.node === 'A' ? [{ id: `sb${index}`, name: sandbox.name, netnsName: sandbox.netns, networkMode: '', sharesNetns: false, netnsPath: '' }] : []));
  const view = { revision: 1, nodeId: 'A', nodeName: 'a', advertiseAddr: '198.18.0.1', networks, sandboxes, endpoints, members: [], overlaySubnets: networks.map((network) => network.subnet), services };
  return { view, ready };
}

/** The networks `netns` is on, by the rule's words: its local sandboxes' endpoints that are not leaving. */
function networksOf(view: NodeView, netns: string): Set<string> {
  const sandboxes = new Set(view.sandboxes.filter((sandbox) => sandbox.netnsName === netns).map((sandbox) => sandbox.id));
  return new Set(view.endpoints.filter((candidate) => candidate.nodeId === 'A' && sandboxes.has(candidate.sandboxId) && !candidate.draining).map((candidate) => candidate.networkId));
}

/**
 * What a name outside the cluster gets: forwarded, unless `netns` is a sandbox here whose
 * endpoints (leaving ones included: they are still its interfaces) are all on internal networks.
 */
function outsideAnswer(view: NodeView, netns: string): 'forward' | 'refused' {
  const sandboxes = new Set(view.sandboxes.filter((sandbox) => sandbox.netnsName === netns).map((sandbox) => sandbox.id));
  if (sandboxes.size === 0) return 'forward';
  const internal = new Set(view.networks.filter((network) => network.internal).map((network) => network.id));
  const ways = view.endpoints.filter((candidate) => candidate.nodeId === 'A' && sandboxes.has(candidate.sandboxId) && !internal.has(candidate.networkId));
  return ways.length > 0 ? 'forward' : 'refused';
}

/** Every (address, names) an asker on `networks` may be told, by a scan of the whole view. */
function visibleRecords(view: NodeView, ready: ReadonlySet<string>, networks: ReadonlySet<string>): { address: string; names: string[]; reverse: string }[] {
  const records: { address: string; names: string[]; reverse: string }[] = [];
  for (const candidate of view.endpoints) {
    if (!ready.has(candidate.id) || candidate.draining || !networks.has(candidate.networkId)) continue;
    const names = [candidate.sandboxName, candidate.hostname, ...candidate.aliases].filter((name) => name !== '');
    const owner = view.services.find((candidate2) => candidate2.id === candidate.serviceId);
    if (owner) names.push(`tasks.${owner.name}`, ...(owner.endpointMode === 'dnsrr' ? [owner.name] : []));
    records.push({ address: candidate.ip, names: names.map((name) => name.toLowerCase()), reverse: candidate.sandboxName || candidate.hostname });
  }
  for (const owner of view.services) {
    if (owner.endpointMode === 'dnsrr') continue;
    for (const vip of owner.vips) if (networks.has(vip.networkId)) records.push({ address: vip.ip, names: [owner.name.toLowerCase()], reverse: owner.name });
  }
  return records;
}

/** Single labels, tasks.LABEL and any name in the view, visible or not. */
function isClusterName(view: NodeView, name: string): boolean {
  const names = [
    ...view.sandboxes.map((sandbox) => sandbox.name),
    ...view.endpoints.flatMap((candidate) => [candidate.sandboxName, candidate.hostname, ...candidate.aliases]),
    ...view.services.flatMap((owner) => [owner.name, `tasks.${owner.name}`]),
  ];
  return !name.includes('.') || /^tasks\.[^.]+$/.test(name) || names.some((candidate) => candidate.toLowerCase() === name);
}

const reverseName = (address: string): string => `${address.split('.').reverse().join('.')}.in-addr.arpa`;

describe('the directory, for random views, askers and questions', () => {
  it('never names an address on a network the asker is not on, nor of an endpoint that is not ready or is draining; and answers all the others', () => {
    fc.assert(
      fc.property(
        viewArbitrary,
        fc.constantFrom(...NAMESPACES, 'elsewhere'),
        fc.constantFrom(...NAMES, ...NAMES.map((name) => `tasks.${name}`), 'tasks.none', 'example.com'),
        fc.nat(),
        fc.constantFrom('A', 'AAAA', 'ANY', 'PTR'),
        fc.boolean(),
        (generated, netns, name, pick, type, upper) => {
          const { view, ready } = toView(generated);
          const directory = buildDirectory(view, ready);
          const visible = visibleRecords(view, ready, networksOf(view, netns));
          const asked = upper ? `${name.toUpperCase()}.` : name;

          const expected = new Set(visible.filter((record) => record.names.includes(name)).map((record) => record.address));
          const answer = directory.answer({ netnsName: netns }, { name: asked, type: type === 'PTR' ? 'A' : type });
          if (expected.size === 0) expect(answer.kind).toBe(isClusterName(view, name) ? 'nxdomain' : outsideAnswer(view, netns));
          else if (type === 'AAAA') expect(answer).toEqual({ kind: 'nodata' });
          else expect(answer.kind === 'records' ? new Set(answer.data) : answer).toEqual(expected);

          // Reverse: any address of the view (or a VIP), asked by this asker.
          const addresses = [...view.endpoints.map((candidate) => candidate.ip), ...view.services.flatMap((owner) => owner.vips.map((vip) => vip.ip))];
          const address = addresses[pick % addresses.length];
          if (address === undefined) return;
          const names = new Set(visible.filter((record) => record.address === address).map((record) => record.reverse));
          const reverse = directory.answer({ netnsName: netns }, { name: reverseName(address), type: 'PTR' });
          expect(reverse.kind === 'records' ? new Set(reverse.data) : reverse).toEqual(names.size === 0 ? { kind: 'nxdomain' } : names);
          // A name a PTR gives resolves back to that address for the same asker.
          for (const back of reverse.kind === 'records' ? reverse.data : []) {
            const forward = directory.answer({ netnsName: netns }, { name: back, type: 'A' });
            expect(forward.kind === 'records' && forward.data.includes(address)).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
