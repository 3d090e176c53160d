/**
 * Drift: objects broken by hand on a host behind the agent's back are repaired by its next timer
 * pass and counted in trellis_drift_repaired_total{kind}; an agent killed in the middle of applying
 * a plan converges when started again and leaves nothing of its own behind.
 */
import type { Network, Sandbox } from '../proto/gen/trellis/v1/types';
import {
  eventually,
  kernelJson,
  lab,
  labDown,
  labUp,
  logSince,
  logSize,
  mustSucceed,
  onHost,
  scrapeMetrics,
  trellisJson,
  trellisOk,
  type LabState,
} from './support/lab-driver';
import { ipOf, pingFromSandbox, sandboxNamespace } from './support/overlay';
import { CRASH_AFTER_BATCHES_ENV as CRASH_HOOK } from '../agent/crash-after-batches';
import { VXLAN_PREFIX, bridgeName, hostVethName, isOwnedLinkName, vxlanName } from '../agent/kernel';
import { ACTION_KINDS as KINDS, type ActionKind as Kind } from '../agent/reconcile/action-kind';
import { sampleValue } from '../proto/runtime/prometheus-text';

const subnet = '10.234.0.0/24';
const network = 'drift';
/** A MAC no endpoint has (documentation range, locally administered). */
const STRAY_MAC = '02:00:5e:00:53:01';
const BOUND_MS = 30_000;

// Every step drives the lab through many CLI calls (each one a process or two): more than the default 60 s on a busy machine.
jest.setTimeout(180_000);

interface LinkJson {
  ifname: string;
  master?: string;
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

/** What a host's kernel holds of Trellis's forwarding state, as sorted lines, comparable to what the view needs. */
interface ForwardingState {
  links: string[];
  fdb: string[];
  neighbours: string[];
  /** sandbox namespaces tagged as this host agent's own */
  namespaces: string[];
}

describe('drift repair (1 manager, 2 agents resyncing every 2 s)', () => {
  let state: LabState;
  let vni = 0;
  const a1 = () => {
    const found = state.hosts.find((h) => h.name === 'a1');
    if (!found) throw new Error('no lab host a1');
    return found;
  };
  const vxlan = () => vxlanName(vni);
  const bridge = () => bridgeName(vni);
  const endpointOf = (sandbox: string) => {
    const endpoint = trellisJson<Network>('m1', ['network', 'inspect', network]).endpoints.find((e) => e.sandboxName === sandbox);
    if (!endpoint) throw new Error(`${sandbox} has no endpoint on ${network}`);
    return endpoint;
  };
  const addressOf = (node: string) => state.hosts.find((h) => h.name === node)?.address ?? '';

  function driftCounts(): Record<Kind, number> {
    const text = scrapeMetrics(a1());
    const counts = Object.fromEntries(KINDS.map((kind) => [kind, sampleValue(text, 'trellis_drift_repaired_total', `kind="${kind}"`)]));
    for (const kind of KINDS) if (counts[kind] === undefined) throw new Error(`no trellis_drift_repaired_total{kind="${kind}"} in:\n${text}`);
    return counts as Record<Kind, number>;
  }

  function links(host: string): LinkJson[] {
    return kernelJson<LinkJson[]>(host, ['ip', 'link', 'show']);
  }
  function fdb(host: string): FdbJson[] {
    return kernelJson<FdbJson[]>(host, ['bridge', 'fdb', 'show']);
  }
  function neighbours(host: string): NeighJson[] {
    return kernelJson<NeighJson[]>(host, ['ip', 'neigh', 'show']);
  }

  function pingsAcross(from = 'left'): boolean {
    return pingFromSandbox('a1', from, ipOf('right', network));
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

  /** What the cluster's view asks of `node`'s kernel: from `network inspect` and `sandbox ls` alone. */
  function needed(node: string): ForwardingState {
    const networks = trellisJson<Network[]>('m1', ['network', 'ls', '--format', 'json']).map((n) =>
      trellisJson<Network>('m1', ['network', 'inspect', n.name]),
    );
    const wanted: ForwardingState = { links: [], fdb: [], neighbours: [], namespaces: [] };
    for (const net of networks.filter((n) => n.endpoints.some((e) => e.node === node))) {
      const device = vxlanName(net.vni);
      wanted.links.push(device, bridgeName(net.vni));
      for (const endpoint of net.endpoints) {
        if (endpoint.node === node) {
          wanted.links.push(hostVethName(endpoint.id));
        } else {
          wanted.fdb.push(`${device} ${endpoint.mac} ${addressOf(endpoint.node)}`);
          wanted.neighbours.push(`${device} ${endpoint.ip} ${endpoint.mac}`);
        }
      }
    }
    const sandboxes = trellisJson<Sandbox[]>('m1', ['sandbox', 'ls', '--format', 'json']);
    wanted.namespaces = sandboxes.filter((s) => s.node === node).map((s) => s.netns.replace('/run/netns/', ''));
    return sorted(wanted);
  }

  /** What `host`'s kernel holds with Trellis's prefixes, and the sandbox namespaces tagged with its agent's owner tag. */
  function present(host: string): ForwardingState {
    const owner = `trellis-owner=${addressOf(host)}`;
    // One call for every namespace: `ip -all netns exec` prints "netns: NAME" before each one's answer.
    const loopbacks = onHost(host, ['ip', '-all', 'netns', 'exec', 'ip', '-j', 'link', 'show', 'lo']).stdout;
    const tagged = [...loopbacks.matchAll(/^netns: (trsb-\S+)\n(.*)$/gm)]
      .filter(([, , json]) => (JSON.parse(json ?? '[]') as Array<{ ifalias?: string }>)[0]?.ifalias === owner)
      .map(([, name]) => name ?? '');
    return sorted({
      links: links(host).map((l) => l.ifname).filter(isOwnedLinkName),
      fdb: fdb(host)
        .filter((e) => e.ifname?.startsWith(VXLAN_PREFIX) && e.dst !== undefined)
        .map((e) => `${e.ifname} ${e.mac} ${e.dst}`),
      neighbours: neighbours(host)
        .filter((n) => n.dev.startsWith(VXLAN_PREFIX))
        .map((n) => `${n.dev} ${n.dst} ${n.lladdr ?? '(none)'}`),
      namespaces: tagged,
    });
  }

  beforeAll(() => {
    state = labUp(1, 2, { resyncInterval: '2s' });
  });
  afterAll(() => labDown());

  it('starts from a network with a sandbox on each agent that ping each other', async () => {
    trellisOk('m1', ['network', 'create', '--driver', 'overlay', '--subnet', subnet, network]);
    trellisOk('m1', ['sandbox', 'create', 'left', '--node', 'a1']);
    trellisOk('m1', ['sandbox', 'create', 'right', '--node', 'a2']);
    trellisOk('m1', ['network', 'connect', network, 'left']);
    trellisOk('m1', ['network', 'connect', network, 'right']);
    vni = trellisJson<Network>('m1', ['network', 'inspect', network]).vni;
    await eventually(() => pingsAcross(), 'left pings right', BOUND_MS);
    expect(present('a1')).toEqual(needed('a1'));
    expect(Object.values(driftCounts())).toEqual(KINDS.map(() => 0));
  });

  it('(a) puts back a deleted FDB entry of the remote endpoint', async () => {
    const right = endpointOf('right');
    const entry = `${vxlan()} ${right.mac} ${addressOf('a2')}`;
    expect(present('a1').fdb).toContain(entry);
    const delta = await breakAndRepair(
      'fdb',
      ['bridge', 'fdb', 'del', right.mac, 'dev', vxlan(), 'dst', addressOf('a2'), 'self'],
      () => present('a1').fdb.includes(entry),
      'the FDB entry',
    );
    onlyCounted('fdb', delta);
  });

  it('(b) puts back a deleted neighbour entry', async () => {
    const right = endpointOf('right');
    const entry = `${vxlan()} ${right.ip} ${right.mac}`;
    const permanent = () => neighbours('a1').some((n) => n.dev === vxlan() && n.dst === right.ip && n.lladdr === right.mac && n.state?.includes('PERMANENT'));
    expect(permanent()).toBe(true);
    const delta = await breakAndRepair('neighbour', ['ip', 'neigh', 'del', right.ip, 'dev', vxlan()], () => present('a1').neighbours.includes(entry) && permanent(), 'the neighbour entry');
    onlyCounted('neighbour', delta);
  });

  it("(c) recreates a deleted host-side veth of the local sandbox, with the sandbox's address and route", async () => {
    const veth = hostVethName(endpointOf('left').id);
    const leftIp = ipOf('left', network);
    const inLeft = (command: string[]) => onHost('a1', ['ip', '-n', sandboxNamespace('left'), '-4', ...command]).stdout;
    const delta = await breakAndRepair(
      'veth',
      ['ip', 'link', 'del', 'dev', veth],
      () =>
        links('a1').some((l) => l.ifname === veth && l.master === bridge()) &&
        inLeft(['addr', 'show', 'dev', 'eth0']).includes(`${leftIp}/`) &&
        inLeft(['route', 'show', 'default']).includes('dev eth0'),
      'the veth',
    );
    expect(delta.veth).toBeGreaterThanOrEqual(1);
  });

  it('(d) recreates a deleted VXLAN device, with its FDB and neighbour entries', async () => {
    const delta = await breakAndRepair(
      'vxlan',
      ['ip', 'link', 'del', 'dev', vxlan()],
      () => links('a1').some((l) => l.ifname === vxlan() && l.master === bridge()) && sameAs(present('a1'), needed('a1')),
      'the VXLAN device',
    );
    // Its entries went with it, so they were written again too.
    expect(delta.fdb).toBeGreaterThanOrEqual(1);
    expect(delta.neighbour).toBeGreaterThanOrEqual(1);
  });

  it('(e) removes a stray FDB entry for a MAC no endpoint has', async () => {
    const stray = `${vxlan()} ${STRAY_MAC} 198.18.0.250`;
    const delta = await breakAndRepair(
      'fdb',
      ['bridge', 'fdb', 'add', STRAY_MAC, 'dev', vxlan(), 'dst', '198.18.0.250', 'self', 'permanent'],
      () => !present('a1').fdb.includes(stray),
      'the stray entry',
    );
    onlyCounted('fdb', delta);
    expect(present('a1')).toEqual(needed('a1'));
  });

  it('(f) converges with no orphans after the agent is killed in the middle of applying a plan', async () => {
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
    expect(present('a1')).not.toEqual(needed('a1'));

    lab(['start', 'a1']);
    await eventually(() => sameAs(present('a1'), needed('a1')), 'a1 converged after the restart', BOUND_MS);
    for (const name of ['c1', 'c2', 'c3']) await eventually(() => pingsAcross(name), `${name} pings right`, BOUND_MS);
    // Nothing of a1's beyond what the view needs: no stale link, entry or namespace of the removed sandbox.
    expect(present('a1')).toEqual(needed('a1'));
    expect(present('a1').namespaces).not.toContain(removedNamespace);
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
    namespaces: [...state.namespaces].sort(),
  };
}

function sameAs(a: ForwardingState, b: ForwardingState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
