/**
 * Drift: objects broken by hand on a host behind the agent's back (in a network's namespace: FDB,
 * neighbour, veth, VXLAN device; in the host: the gateway bridge, the firewall table) are repaired by
 * its next timer pass and counted in trellis_drift_repaired_total{kind}; an agent killed in the middle
 * of applying a plan converges when started again and leaves nothing of its own behind.
 */
import type { Network, Sandbox } from '../proto/gen/trellis/v1/types';
import {
  eventually,
  kernelJson,
  lab,
  labDown,
  labHost,
  labUp,
  logSince,
  logSize,
  mustSucceed,
  onHost,
  scrapeMetrics,
  trellisJson,
  trellisOk,
  type LabHost,
  type LabState,
} from './support/lab-driver';
import { endpointOf, hasFirewallTable, ipOf, namespaceName, networkNamespace, networkNamespaces, pingFromSandbox, sandboxNamespace, trellisLinks } from './support/overlay';
import { CRASH_AFTER_BATCHES_ENV as CRASH_HOOK } from '../agent/crash-after-batches';
import {
  FIREWALL_TABLE,
  GATEWAY_BRIDGE,
  VXLAN_PREFIX,
  bridgeName,
  gatewayVethName,
  hostVethName,
  networkNetnsName,
  vxlanName,
} from '../agent/kernel';
import { ACTION_KINDS as KINDS, type ActionKind as Kind } from '../agent/reconcile/action-kind';
import { sampleValue } from '../proto/runtime/prometheus-text';

const subnet = '10.234.0.0/24';
const network = 'drift';
/** A MAC no endpoint has (documentation range, locally administered). */
const STRAY_MAC = '02:00:5e:00:53:01';
/** The host's address on the gateway bridge: the first of the agent's default --gateway-subnet, 172.29.0.0/16 (the lab's). */
const GATEWAY_ADDRESS = '172.29.0.1/16';
const BOUND_MS = 30_000;

// Every step drives the lab through many CLI calls (each one a process or two): more than the default 60 s on a busy machine.
jest.setTimeout(180_000);

interface LinkJson {
  ifname: string;
  master?: string;
  addr_info?: Array<{ local: string; prefixlen: number }>;
}
interface FdbJson {
  mac: string;
  ifname: string;
  dst?: string;
}
interface NeighJson {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

/**
 * What a host's kernel holds of Trellis's, as sorted lines, comparable to what the view needs.
 * Links and entries are qualified by their namespace: every network has one of its own.
 */
interface ForwardingState {
  /** "NAMESPACE LINK" */
  links: string[];
  /** "NAMESPACE DEVICE MAC DST" */
  fdb: string[];
  /** "NAMESPACE DEVICE IP MAC" */
  neighbours: string[];
  /** sandbox namespaces tagged as this host agent's own */
  sandboxNamespaces: string[];
  networkNamespaces: string[];
  firewallTable: boolean;
}

describe('drift repair (1 manager, 2 agents resyncing every 2 s)', () => {
  let state: LabState;
  let vni = 0;
  const a1 = (): LabHost => labHost(state, 'a1');
  const vxlan = () => vxlanName(vni);
  const bridge = () => bridgeName(vni);
  /** The drift network's namespace on a1, where its bridge, VXLAN device, veth ends and entries live. */
  const a1Network = () => networkNetnsName(a1().address, vni);
  const addressOf = (node: string) => labHost(state, node).address;

  function driftCounts(): Record<Kind, number> {
    const text = scrapeMetrics(a1());
    const counts = Object.fromEntries(KINDS.map((kind) => [kind, sampleValue(text, 'trellis_drift_repaired_total', `kind="${kind}"`)]));
    for (const kind of KINDS) if (counts[kind] === undefined) throw new Error(`no trellis_drift_repaired_total{kind="${kind}"} in:\n${text}`);
    return counts as Record<Kind, number>;
  }

  /** Links with their addresses of a1's host namespace, or of one of its network namespaces (`ip -n` enters it by name). */
  function links(namespace?: string): LinkJson[] {
    return kernelJson<LinkJson[]>('a1', ['ip', ...(namespace === undefined ? [] : ['-n', namespace]), 'addr', 'show']);
  }
  function fdb(namespace: string, host = 'a1'): FdbJson[] {
    return kernelJson<FdbJson[]>(host, ['bridge', '-n', namespace, 'fdb', 'show']);
  }
  function neighbours(namespace: string, host = 'a1'): NeighJson[] {
    return kernelJson<NeighJson[]>(host, ['ip', '-n', namespace, 'neigh', 'show']);
  }

  function pingsAcross(from = 'left'): boolean {
    return pingFromSandbox('a1', from, ipOf('right', network));
  }

  /** The way out: a sandbox on a1 reaches a2's underlay address, masqueraded (a2 has no route back to the gateway subnet). */
  function egressWorks(from = 'left'): boolean {
    return pingFromSandbox('a1', from, addressOf('a2'));
  }

  /**
   * Breaks something on a1 by hand, waits until `repaired` and a ping across both say the kernel is
   * whole again, then until the drift counter of `kind` has gone up; returns how every kind moved.
   */
  async function breakAndRepair(kind: Kind, damage: string[], repaired: () => boolean, what: string): Promise<Record<Kind, number>> {
    const before = driftCounts();
    mustSucceed(damage.join(' '), onHost('a1', damage));
    await eventually(() => repaired() && pingsAcross(), `${what} repaired and left pings right`, BOUND_MS);
    await eventually(() => driftCounts()[kind] > before[kind], `trellis_drift_repaired_total{kind="${kind}"} up`, BOUND_MS);
    const after = driftCounts();
    return Object.fromEntries(KINDS.map((k) => [k, after[k] - before[k]])) as Record<Kind, number>;
  }

  function onlyCounted(kind: Kind, delta: Record<Kind, number>): void {
    expect(delta[kind]).toBeGreaterThanOrEqual(1);
    expect(KINDS.filter((k) => k !== kind && delta[k] !== 0)).toEqual([]);
  }

  /** What the cluster's view asks of `host`'s kernel: from `network inspect` and `sandbox ls` alone. */
  function needed(host: LabHost): ForwardingState {
    const networks = trellisJson<Network[]>('m1', ['network', 'ls', '--format', 'json']).map((n) =>
      trellisJson<Network>('m1', ['network', 'inspect', n.name]),
    );
    const wanted: ForwardingState = { links: [], fdb: [], neighbours: [], sandboxNamespaces: [], networkNamespaces: [], firewallTable: false };
    for (const net of networks.filter((n) => n.endpoints.some((e) => e.node === host.name))) {
      const namespace = networkNetnsName(host.address, net.vni);
      const device = vxlanName(net.vni);
      wanted.networkNamespaces.push(namespace);
      wanted.links.push(`${namespace} ${device}`, `${namespace} ${bridgeName(net.vni)}`);
      for (const endpoint of net.endpoints) {
        if (endpoint.node === host.name) {
          wanted.links.push(`${namespace} ${hostVethName(endpoint.id)}`);
        } else {
          wanted.fdb.push(`${namespace} ${device} ${endpoint.mac} ${addressOf(endpoint.node)}`);
          wanted.neighbours.push(`${namespace} ${device} ${endpoint.ip} ${endpoint.mac}`);
        }
      }
    }
    const external = new Set(networks.filter((n) => !n.internal).map((n) => n.name));
    const sandboxes = trellisJson<Sandbox[]>('m1', ['sandbox', 'ls', '--format', 'json']).filter((s) => s.node === host.name);
    wanted.sandboxNamespaces = sandboxes.map(namespaceName);
    const withEgress = sandboxes.filter((s) => !s.adopted && s.endpoints.some((e) => external.has(e.networkName)));
    if (withEgress.length > 0) {
      wanted.links.push(`${host.namespace} ${GATEWAY_BRIDGE}`, ...withEgress.map((s) => `${host.namespace} ${gatewayVethName(s.id)}`));
      wanted.firewallTable = true;
    }
    return sorted(wanted);
  }

  /** What `host`'s kernel holds of Trellis's, and the sandbox namespaces tagged with its agent's owner tag. */
  function present(host: LabHost): ForwardingState {
    const owner = `trellis-owner=${host.address}`;
    // One call for every namespace: `ip -all netns exec` prints "netns: NAME" before each one's answer.
    const loopbacks = onHost(host.name, ['ip', '-all', 'netns', 'exec', 'ip', '-j', 'link', 'show', 'lo']).stdout;
    const tagged = [...loopbacks.matchAll(/^netns: (trsb-\S+)\n(.*)$/gm)]
      .filter(([, , json]) => (JSON.parse(json ?? '[]') as Array<{ ifalias?: string }>)[0]?.ifalias === owner)
      .map(([, name]) => name ?? '');
    const namespaces = networkNamespaces(host);
    return sorted({
      links: trellisLinks(host).map((link) => `${link.namespace} ${link.ifname}`),
      fdb: namespaces.flatMap((namespace) =>
        fdb(namespace, host.name)
          .filter((e) => e.ifname?.startsWith(VXLAN_PREFIX) && e.dst !== undefined)
          .map((e) => `${namespace} ${e.ifname} ${e.mac} ${e.dst}`),
      ),
      neighbours: namespaces.flatMap((namespace) =>
        neighbours(namespace, host.name)
          .filter((n) => n.dev.startsWith(VXLAN_PREFIX))
          .map((n) => `${namespace} ${n.dev} ${n.dst} ${n.lladdr ?? '(none)'}`),
      ),
      sandboxNamespaces: tagged,
      networkNamespaces: namespaces,
      firewallTable: hasFirewallTable(host),
    });
  }

  beforeAll(() => {
    state = labUp(1, 2, { resyncInterval: '2s' });
  });
  afterAll(() => labDown());

  it('starts from a network with a sandbox on each agent that ping each other and reach out', async () => {
    trellisOk('m1', ['network', 'create', '--driver', 'overlay', '--subnet', subnet, network]);
    trellisOk('m1', ['sandbox', 'create', 'left', '--node', 'a1']);
    trellisOk('m1', ['sandbox', 'create', 'right', '--node', 'a2']);
    trellisOk('m1', ['network', 'connect', network, 'left']);
    trellisOk('m1', ['network', 'connect', network, 'right']);
    vni = trellisJson<Network>('m1', ['network', 'inspect', network]).vni;
    expect(networkNamespace(a1(), network)).toBe(a1Network());
    await eventually(() => pingsAcross() && egressWorks(), 'left pings right and a2', BOUND_MS);
    expect(present(a1())).toEqual(needed(a1()));
    expect(present(a1()).firewallTable).toBe(true);
    expect(Object.values(driftCounts())).toEqual(KINDS.map(() => 0));
  });

  it("(a) puts back a deleted FDB entry of the remote endpoint, in the network's namespace", async () => {
    const right = endpointOf('right', network);
    const entry = `${a1Network()} ${vxlan()} ${right.mac} ${addressOf('a2')}`;
    expect(present(a1()).fdb).toContain(entry);
    const delta = await breakAndRepair(
      'fdb',
      ['bridge', '-n', a1Network(), 'fdb', 'del', right.mac, 'dev', vxlan(), 'dst', addressOf('a2'), 'self'],
      () => present(a1()).fdb.includes(entry),
      'the FDB entry',
    );
    onlyCounted('fdb', delta);
  });

  it("(b) puts back a deleted neighbour entry, in the network's namespace", async () => {
    const right = endpointOf('right', network);
    const entry = `${a1Network()} ${vxlan()} ${right.ip} ${right.mac}`;
    const permanent = () =>
      neighbours(a1Network()).some((n) => n.dev === vxlan() && n.dst === right.ip && n.lladdr === right.mac && n.state?.includes('PERMANENT'));
    expect(permanent()).toBe(true);
    const delta = await breakAndRepair(
      'neighbour',
      ['ip', '-n', a1Network(), 'neigh', 'del', right.ip, 'dev', vxlan()],
      () => present(a1()).neighbours.includes(entry) && permanent(),
      'the neighbour entry',
    );
    onlyCounted('neighbour', delta);
  });

  it("(c) recreates a deleted host-side veth of the local sandbox, with the sandbox's address and route", async () => {
    const veth = hostVethName(endpointOf('left', network).id);
    const leftIp = ipOf('left', network);
    const inLeft = (command: string[]) => onHost('a1', ['ip', '-n', sandboxNamespace('left'), '-4', ...command]).stdout;
    const delta = await breakAndRepair(
      'veth',
      ['ip', '-n', a1Network(), 'link', 'del', 'dev', veth],
      () =>
        links(a1Network()).some((l) => l.ifname === veth && l.master === bridge()) &&
        inLeft(['addr', 'show', 'dev', 'eth0']).includes(`${leftIp}/`) &&
        inLeft(['route', 'show', subnet]).includes('dev eth0'),
      'the veth',
    );
    expect(delta.veth).toBeGreaterThanOrEqual(1);
  });

  it('(d) recreates a deleted VXLAN device, with its FDB and neighbour entries', async () => {
    const delta = await breakAndRepair(
      'vxlan',
      ['ip', '-n', a1Network(), 'link', 'del', 'dev', vxlan()],
      () => links(a1Network()).some((l) => l.ifname === vxlan() && l.master === bridge()) && sameAs(present(a1()), needed(a1())),
      'the VXLAN device',
    );
    // Its entries went with it, so they were written again too.
    expect(delta.fdb).toBeGreaterThanOrEqual(1);
    expect(delta.neighbour).toBeGreaterThanOrEqual(1);
  });

  it('(e) removes a stray FDB entry for a MAC no endpoint has', async () => {
    const stray = `${a1Network()} ${vxlan()} ${STRAY_MAC} 198.18.0.250`;
    const delta = await breakAndRepair(
      'fdb',
      ['bridge', '-n', a1Network(), 'fdb', 'add', STRAY_MAC, 'dev', vxlan(), 'dst', '198.18.0.250', 'self', 'permanent'],
      () => !present(a1()).fdb.includes(stray),
      'the stray entry',
    );
    onlyCounted('fdb', delta);
    expect(present(a1())).toEqual(needed(a1()));
  });

  it("(f) recreates the gateway bridge deleted by hand, with the host's address and the sandbox's way out on it", async () => {
    const gatewayVeth = gatewayVethName(trellisJson<Sandbox>('m1', ['sandbox', 'inspect', 'left']).id);
    const delta = await breakAndRepair(
      'bridge',
      ['ip', 'link', 'del', 'dev', GATEWAY_BRIDGE],
      () => {
        const hostLinks = links();
        return (
          hostLinks.some((l) => l.ifname === GATEWAY_BRIDGE && l.addr_info?.some((a) => `${a.local}/${a.prefixlen}` === GATEWAY_ADDRESS)) &&
          hostLinks.some((l) => l.ifname === gatewayVeth && l.master === GATEWAY_BRIDGE) &&
          egressWorks()
        );
      },
      'the gateway bridge',
    );
    expect(delta.bridge).toBeGreaterThanOrEqual(1);
    expect(present(a1())).toEqual(needed(a1()));
  });

  it('(g) puts back the firewall table deleted by hand: masquerade works again', async () => {
    const delta = await breakAndRepair(
      'firewall',
      ['nft', 'delete', 'table', 'ip', FIREWALL_TABLE],
      () => hasFirewallTable(a1()) && egressWorks(),
      'the firewall table',
    );
    onlyCounted('firewall', delta);
  });

  it('(h) converges with no orphans after the agent is killed in the middle of applying a plan', async () => {
    // A change that takes several batches on a1: a sandbox goes away, three new ones come.
    const removedNamespace = sandboxNamespace('left');
    lab(['stop', 'a1']);
    trellisOk('m1', ['network', 'disconnect', network, 'left']);
    trellisOk('m1', ['sandbox', 'rm', 'left']);
    for (const name of ['c1', 'c2', 'c3']) {
      trellisOk('m1', ['sandbox', 'create', name, '--node', 'a1']);
      trellisOk('m1', ['network', 'connect', network, name]);
    }
    const marker = logSize(state, 'a1');

    lab(['start', 'a1', '--env', `${CRASH_HOOK}=2`]);
    await eventually(() => labPid('a1') === null, 'a1 dies by its test hook', BOUND_MS);
    expect(logSince(state, 'a1', marker)).toContain(`test hook ${CRASH_HOOK}: SIGKILL after 2 kernel write batches`);
    expect(present(a1())).not.toEqual(needed(a1()));

    lab(['start', 'a1']);
    await eventually(() => sameAs(present(a1()), needed(a1())), 'a1 converged after the restart', BOUND_MS);
    for (const name of ['c1', 'c2', 'c3']) await eventually(() => pingsAcross(name) && egressWorks(name), `${name} pings right and a2`, BOUND_MS);
    // Nothing of a1's beyond what the view needs: no stale link, entry or namespace of the removed sandbox.
    expect(present(a1())).toEqual(needed(a1()));
    expect(present(a1()).sandboxNamespaces).not.toContain(removedNamespace);
  });
});

/** The pid `lab status` reports for a host's daemon: null once it is gone. */
function labPid(host: string): number | null {
  const status = JSON.parse(lab(['status']).stdout) as LabState;
  return status.hosts.find((h) => h.name === host)?.pid ?? null;
}

function sorted(state: ForwardingState): ForwardingState {
  return {
    links: [...state.links].sort(),
    fdb: [...state.fdb].sort(),
    neighbours: [...state.neighbours].sort(),
    sandboxNamespaces: [...state.sandboxNamespaces].sort(),
    networkNamespaces: [...state.networkNamespaces].sort(),
    firewallTable: state.firewallTable,
  };
}

function sameAs(a: ForwardingState, b: ForwardingState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
