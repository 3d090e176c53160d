import { ObservedKernel, ObservedSandbox } from '../kernel';
import { ATTACHED_TAG_PREFIX, OWNER_TAG_PREFIX, plan } from './plan';
import { BRIDGE_NETFILTER_OFF, EMPTY, FOREIGN_VETH, NETWORK_NETNS, NOTHING_OBSERVED, OWNER, commands, link, programmed, view, want } from './plan-fixtures';
import { remote, sandbox } from './test-fixtures';

const byName = view({ sandboxes: [{ ...sandbox, netnsPath: '/run/netns/cni-7f3a' }] });
const byProcess = view({ sandboxes: [{ ...sandbox, netnsPath: '/proc/4242/ns/net' }] });

/** A namespace a container runtime made: its lo up and untagged, its own interface, maybe its own route. */
function foreignNamespace(fields: Partial<ObservedSandbox> = {}): ObservedSandbox {
  return { netns: 'cni-7f3a', links: [link('lo', { ifindex: 1, mtu: 65536 }), FOREIGN_VETH], defaultRoute: undefined, ...fields };
}

function withSandbox(observed: ObservedKernel, adopted: ObservedSandbox): ObservedKernel {
  return { ...observed, sandboxes: [adopted] };
}

const NS = NETWORK_NETNS;
const OUR_VETH_INTO_CNI =
  `ip -n ${NS} link add name trve-e1aaaaaaaa mtu 1450 master trbr-100 up type veth peer name eth0 netns cni-7f3a address 02:42:0a:e7:01:02 mtu 1450`;

describe('plan, for a namespace adopted by name', () => {
  test('puts our veth into it without adding the namespace, touching its lo, or giving it an egress of ours', () => {
    expect(commands(plan(want(byName), withSandbox(NOTHING_OBSERVED, foreignNamespace())))).toEqual([
      `ip netns add ${NS}`,
      `ip link add name trvx-100 netns ${NS} mtu 1450 type vxlan id 100 dstport 4789 local 198.18.0.1 dev uplink nolearning proxy`,
      `ip -n ${NS} link add name trbr-100 mtu 1450 up type bridge`,
      `ip -n ${NS} link set dev trvx-100 master trbr-100 up`,
      OUR_VETH_INTO_CNI,
      `ip -n ${NS} neigh replace 10.231.1.3 lladdr 02:42:0a:e7:01:03 dev trvx-100 nud permanent`,
      `bridge -n ${NS} fdb replace 02:42:0a:e7:01:03 dev trvx-100 dst 198.18.0.2 self permanent`,
      `ip netns exec ${NS} ${BRIDGE_NETFILTER_OFF}`,
      'ip -n cni-7f3a link set dev eth0 alias trve-e1aaaaaaaa up',
      'ip -n cni-7f3a addr add 10.231.1.2/24 dev eth0',
      'ip -n cni-7f3a ntable change name arp_cache dev eth0 retrans 20',
    ]);
  });

  test('once programmed, plans nothing', () => {
    expect(plan(want(byName), programmed(want(byName)))).toEqual([]);
  });

  test("leaves the namespace's own default route alone", () => {
    const ownRoute = foreignNamespace({ defaultRoute: { gateway: '172.17.0.1', device: 'ext0' } });

    expect(commands(plan(want(byName), withSandbox(NOTHING_OBSERVED, ownRoute))).filter((c) => c.includes('route'))).toEqual([]);
  });

  test('removing the sandbox deletes only our veth; the namespace, its lo and its interface stay', () => {
    const observed = programmed(want(byName));

    expect(commands(plan(want(view({ sandboxes: [], endpoints: [remote] })), observed))).toEqual([
      `ip -n ${NS} link del dev trve-e1aaaaaaaa`,
    ]);
    expect(commands(plan(EMPTY, observed))).toEqual([
      `ip -n ${NS} link del dev trvx-100`,
      `ip -n ${NS} link del dev trve-e1aaaaaaaa`,
      `ip netns del ${NS}`,
    ]);
  });

  test('is never removed as a leftover, even when tagged as ours', () => {
    const tagged = foreignNamespace({ links: [link('lo', { ifindex: 1, alias: `${OWNER_TAG_PREFIX}${OWNER}` })] });

    expect(plan(EMPTY, withSandbox(NOTHING_OBSERVED, tagged))).toEqual([]);
  });

  test('is never replaced when it cannot be entered', () => {
    const broken = { ...NOTHING_OBSERVED, brokenSandboxes: ['cni-7f3a'] };

    expect(commands(plan(want(byName), broken)).filter((c) => c.startsWith('ip netns') && c.includes('cni-7f3a'))).toEqual([]);
  });

  test('an interface of its maker on a name we want, or a stray veth, is never deleted', () => {
    const squatted = foreignNamespace({ links: [link('lo'), link('eth0', { kind: 'macvlan', ifindex: 5 }), link('eth7', { kind: 'veth', ifindex: 6, peerIfindex: 41 })] });

    expect(commands(plan(want(byName), withSandbox(NOTHING_OBSERVED, squatted))).filter((c) => c.includes(' del '))).toEqual([]);
  });
});

describe('plan, for a namespace adopted from a process', () => {
  test('attaches it under our name and tags its lo without changing its state', () => {
    const planned = commands(plan(want(byProcess), NOTHING_OBSERVED));

    expect(planned[0]).toBe('ip netns attach trsb-web 4242');
    expect(planned).toContain(`ip -n trsb-web link set dev lo alias ${ATTACHED_TAG_PREFIX}${OWNER}`);
    expect(planned.join('\n')).not.toContain('netns add trsb-web');
  });

  test('a lo that is down stays down; once tagged, nothing is written', () => {
    const observed = programmed(want(byProcess));
    const lo = observed.sandboxes[0]?.links.find((l) => l.name === 'lo');
    if (!lo) throw new Error('fixture');
    lo.up = false;

    expect(plan(want(byProcess), observed)).toEqual([]);
  });

  test('removing the sandbox deletes our veth and only unmounts the name: the namespace outlives it, with whatever is left in it', () => {
    expect(commands(plan(want(view({ sandboxes: [], endpoints: [remote] })), programmed(want(byProcess))))).toEqual([
      `ip -n ${NS} link del dev trve-e1aaaaaaaa`,
      'ip netns del trsb-web',
    ]);
  });

  test('an attach tagged the way older agents tagged it (as if created) is retagged as attached', () => {
    const observed = programmed(want(byProcess));
    const lo = observed.sandboxes[0]?.links.find((l) => l.name === 'lo');
    if (!lo) throw new Error('fixture');
    lo.alias = `${OWNER_TAG_PREFIX}${OWNER}`;

    expect(commands(plan(want(byProcess), observed))).toEqual([`ip -n trsb-web link set dev lo alias ${ATTACHED_TAG_PREFIX}${OWNER}`]);
  });

  test('a dangling attach name is replaced by a fresh attach', () => {
    const planned = commands(plan(want(byProcess), { ...NOTHING_OBSERVED, brokenSandboxes: ['trsb-web'] }));

    expect(planned.slice(0, 2)).toEqual(['ip netns del trsb-web', 'ip netns attach trsb-web 4242']);
  });
});
