import { EndpointView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import { composeView, memberNetworks, ownEndpoints, type GossipTables } from './composed-view';
import type { TableEntry } from './model';

/*
 * The composer: the managers' slim view of a gossiping node plus the GossipAgent's tables give
 * the view the reconciler, DNS and balancing program, with the ready set that goes with it.
 */

const network = (id: string) => ({ id, name: id, driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 4096, subnet: '10.1.0.0/24', gateway: '10.1.0.1', mtu: 0, internal: false });

/** Node a's slim view: its own endpoint a1 on n1, and c1 of node c (which does not gossip). */
const held = NodeView.fromPartial({
  revision: 7,
  nodeId: 'a',
  networks: [network('n1')],
  endpoints: [
    EndpointView.fromPartial({ id: 'a1', networkId: 'n1', nodeId: 'a', vtep: '198.18.0.1', ip: '10.1.0.2', prefixLength: 24, mac: '02:42:0a:01:00:02', interfaceName: 'eth1', hostname: 'web', dns: ['10.1.0.1'] }),
    EndpointView.fromPartial({ id: 'c1', networkId: 'n1', nodeId: 'c', vtep: '198.18.0.3', ip: '10.1.0.4', prefixLength: 24, mac: '02:42:0a:01:00:04' }),
  ],
  members: [{ networkId: 'n1', nodeId: 'b', publicKey: 'key-b', vtep: '198.18.0.2' }],
});

const entry = ({ networkId = 'n1', ownerNodeId = 'b', source = 'gossip', ...fields }: Partial<TableEntry>): TableEntry => ({ ...GossipEntry.fromPartial(fields), networkId, ownerNodeId, source });

/** What b announced on n1: b1 (ready, a backend of svc with an alias), b2 (not ready yet). */
const B1 = entry({ endpointId: 'b1', ip: '10.1.0.3', prefixLength: 24, mac: '02:42:0a:01:00:03', vtep: '198.18.0.2', sandboxId: 's-b1', sandboxName: 'api.1', hostname: 'api', aliases: ['api'], serviceId: 'svc', ready: true });
const B2 = entry({ endpointId: 'b2', ip: '10.1.0.5', prefixLength: 24, mac: '02:42:0a:01:00:05', vtep: '198.18.0.2', draining: true });

const LINKED: ReadonlySet<string> = new Set(['b']);

function tables(byNetwork: Record<string, TableEntry[]>, digests: Record<string, Record<string, string>> = {}): GossipTables {
  return {
    networkIds: () => Object.keys(byNetwork),
    table: (networkId) => byNetwork[networkId] ?? [],
    programmedDigests: (networkId) => new Map(Object.entries(digests[networkId] ?? {})),
  };
}

describe('the composed view of a gossiping node', () => {
  it("holds the managers' endpoints and the ones gossip brought, as endpoints the reconciler, DNS and balancing read", () => {
    const { view } = composeView(held, new Set(), tables({ n1: [B1, B2] }), LINKED);
    expect(view.revision).toBe(7);
    expect(view.members).toEqual(held.members);
    expect(view.endpoints.map((endpoint) => endpoint.id)).toEqual(['a1', 'c1', 'b1', 'b2']);
    expect(view.endpoints.find((endpoint) => endpoint.id === 'b1')).toEqual({
      id: 'b1',
      networkId: 'n1',
      sandboxId: 's-b1',
      nodeId: 'b',
      vtep: '198.18.0.2',
      ip: '10.1.0.3',
      prefixLength: 24,
      mac: '02:42:0a:01:00:03',
      interfaceName: '',
      hostname: 'api',
      extraHosts: [],
      dns: [],
      publishedPorts: [],
      serviceId: 'svc',
      draining: false,
      aliases: ['api'],
      sandboxName: 'api.1',
    });
    expect(view.endpoints.find((endpoint) => endpoint.id === 'b2')?.draining).toBe(true);
    // The held view is the managers': composing leaves it as it was.
    expect(held.endpoints).toHaveLength(2);
  });

  it('is ready where the managers say so and where the owner, linked now, announced its endpoint ready', () => {
    const { ready } = composeView(held, new Set(['a1', 'c1']), tables({ n1: [B1, B2] }), LINKED);
    expect([...ready].sort()).toEqual(['a1', 'b1', 'c1']);
  });

  it("takes an owner's gossiped readiness only while it is linked (it cannot say its endpoints went down with it), a fallback's always", () => {
    expect([...composeView(held, new Set(['a1']), tables({ n1: [B1] }), new Set()).ready]).toEqual(['a1']);
    expect([...composeView(held, new Set(), tables({ n1: [{ ...B1, source: 'manager' }] }), new Set()).ready]).toEqual(['b1']);
  });

  it("lets the managers' view win over gossip on an endpoint both hold, and ignores gossip of networks the view does not host and of this node", () => {
    const stale = entry({ endpointId: 'c1', ip: '10.1.0.99', vtep: '198.18.0.2' });
    const elsewhere = entry({ endpointId: 'x1', networkId: 'n9' });
    const mine = entry({ endpointId: 'a9', ownerNodeId: 'a' });
    const { view } = composeView(held, new Set(), tables({ n1: [stale, mine, B1], n9: [elsewhere] }), LINKED);
    expect(view.endpoints.map((endpoint) => endpoint.id)).toEqual(['a1', 'c1', 'b1']);
    expect(view.endpoints.find((endpoint) => endpoint.id === 'c1')?.ip).toBe('10.1.0.4');
  });

  it("carries the members' programmed digests of the hosted networks, and a key that changes with them and the revision but not with readiness", () => {
    const first = composeView(held, new Set(), tables({ n1: [B1] }, { n1: { b: 'digest-1' }, n9: { x: 'digest-x' } }), LINKED);
    expect(first.members).toEqual([{ networkId: 'n1', ownerNodeId: 'b', digest: 'digest-1' }]);
    const readyOnly = composeView(held, new Set(['a1']), tables({ n1: [{ ...B1, ready: false }] }, { n1: { b: 'digest-1' } }), LINKED);
    expect(readyOnly.key).toBe(first.key);
    expect(composeView(held, new Set(), tables({ n1: [B1] }, { n1: { b: 'digest-2' } }), LINKED).key).not.toBe(first.key);
    expect(composeView({ ...held, revision: 8 }, new Set(), tables({ n1: [B1] }, { n1: { b: 'digest-1' } }), LINKED).key).not.toBe(first.key);
  });
});

describe("a gossiping node's own endpoints and members", () => {
  it('announces its own endpoints only, ready as the managers told it', () => {
    expect(ownEndpoints(held, new Set(['a1']))).toEqual([
      {
        networkId: 'n1',
        endpointId: 'a1',
        ip: '10.1.0.2',
        mac: '02:42:0a:01:00:02',
        vtep: '198.18.0.1',
        sandboxId: '',
        sandboxName: '',
        hostname: 'web',
        aliases: [],
        serviceId: '',
        draining: false,
        prefixLength: 24,
        ready: true,
      },
    ]);
    expect(ownEndpoints(held, new Set())[0]?.ready).toBe(false);
  });

  it('lists every hosted network with its members, a network without any too', () => {
    const view = { ...held, networks: [network('n1'), network('n2')] };
    expect(memberNetworks(view)).toEqual([
      { networkId: 'n1', members: [{ nodeId: 'b', publicKey: 'key-b', vtep: '198.18.0.2' }] },
      { networkId: 'n2', members: [] },
    ]);
  });
});
