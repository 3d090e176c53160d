/**
 * The macvlan driver against this host's kernel, in namespaces the test makes (see lan-test-lab.ts):
 * a sandbox straight on a LAN, created, left alone when right, repaired after changes by hand,
 * removed; bridge and private modes as the other sandbox sees them; and what this kernel cannot
 * make (ipvlan, VLAN parents) skipped with the reason. ipvlan and VLAN parents for real:
 * lan.uml.test.ts. Needs root.
 */
import { lanDeviceName, processRunner, VLAN_ALIAS } from '../kernel';
import { probeLinkKinds } from '../node-facts/probe';
import {
  LAN_GATEWAY,
  LAN_SUBNET,
  LanLab,
  LanNetworkSpec,
  defaultRouteIn,
  endpointId,
  endpointMac,
  lanView,
  linkIn,
  makeLanLab,
  reaches,
  removeLanLab,
} from './lan-test-lab';

let labs = 0;
let linkKinds: string[];
let lab: LanLab;

beforeAll(async () => {
  linkKinds = await probeLinkKinds(processRunner);
});
beforeEach(async () => {
  labs += 1;
  lab = await makeLanLab(`trln${process.pid}-${labs}`, linkKinds);
});
afterEach(() => removeLanLab(lab));

function macvlan(mode: string, parent = 'uplink'): LanNetworkSpec {
  return { id: 'lan', driver: 'macvlan', mode, parent, subnet: LAN_SUBNET, endpoints: [{ sandbox: 'a', host: 10 }, { sandbox: 'b', host: 11 }] };
}

const A = `${LAN_SUBNET}.10`;
const B = `${LAN_SUBNET}.11`;

test('this kernel makes macvlan devices (the rest of this file relies on it)', () => {
  expect(linkKinds).toContain('macvlan');
});

test('a macvlan sandbox is on the LAN at its own address and MAC, tagged as ours, its default route via the LAN gateway; a second pass writes nothing', async () => {
  const view = lanView(lab, [macvlan('bridge')]);
  const first = await lab.reconciler.reconcile(view);
  expect(first.skipped).toEqual([]);
  expect(first.unprogrammedEndpointIds).toEqual([]);
  expect(first.actions).toEqual(expect.arrayContaining([
    `ip link add link uplink name eth0 netns ${lab.sandboxes.a} address ${endpointMac(10)} type macvlan mode bridge`,
  ]));

  const device = await linkIn(lab.sandboxes.a, 'eth0');
  expect(device).toMatchObject({
    kind: 'macvlan', mode: 'bridge', up: true, mac: endpointMac(10), addresses: [`${A}/24`], alias: lanDeviceName(endpointId(macvlan('bridge'), 'a')),
  });
  expect(await defaultRouteIn(lab.sandboxes.a)).toBe(`default via ${LAN_GATEWAY} dev eth0`);
  // Nothing of it is left in the host namespace: it was born in the sandbox.
  expect((await processRunner.run(['ip', '-n', lab.hostNetns, '-o', 'link', 'show'])).includes('eth0')).toBe(false);

  expect(await reaches(lab.lanNetns, A)).toBe(true);
  expect(await reaches(lab.sandboxes.a, LAN_GATEWAY)).toBe(true);
  const second = await lab.reconciler.reconcile(view);
  expect(second.writes).toBe(0);
});

test('bridge mode lets two sandboxes on one parent reach each other; private mode stops it, and both still reach the LAN', async () => {
  await lab.reconciler.reconcile(lanView(lab, [macvlan('bridge')]));
  expect(await reaches(lab.sandboxes.a, B)).toBe(true);

  const toPrivate = await lab.reconciler.reconcile(lanView(lab, [macvlan('private')], 2));
  expect(toPrivate.writes).toBeGreaterThan(0);
  expect(await linkIn(lab.sandboxes.a, 'eth0')).toMatchObject({ kind: 'macvlan', mode: 'private', addresses: [`${A}/24`] });
  expect(await reaches(lab.sandboxes.a, B)).toBe(false);
  expect(await reaches(lab.sandboxes.b, A)).toBe(false);
  expect(await reaches(lab.lanNetns, A)).toBe(true);
  expect(await reaches(lab.lanNetns, B)).toBe(true);
  expect((await lab.reconciler.reconcile(lanView(lab, [macvlan('private')], 2))).writes).toBe(0);
});

test('drift is repaired in one pass: the mode changed by hand, the address removed, the device deleted', async () => {
  const view = lanView(lab, [macvlan('bridge')]);
  await lab.reconciler.reconcile(view);
  const sabotage: string[][] = [
    ['ip', '-n', lab.sandboxes.a, 'link', 'set', 'dev', 'eth0', 'type', 'macvlan', 'mode', 'private'],
    ['ip', '-n', lab.sandboxes.a, 'addr', 'flush', 'dev', 'eth0'],
    ['ip', '-n', lab.sandboxes.a, 'link', 'del', 'dev', 'eth0'],
  ];
  for (const argv of sabotage) {
    await processRunner.run(argv);
    const repair = await lab.reconciler.reconcile(view);
    expect(repair.writes).toBeGreaterThan(0);
    expect(await linkIn(lab.sandboxes.a, 'eth0')).toMatchObject({ kind: 'macvlan', mode: 'bridge', up: true, mac: endpointMac(10), addresses: [`${A}/24`] });
    expect(await defaultRouteIn(lab.sandboxes.a)).toBe(`default via ${LAN_GATEWAY} dev eth0`);
    expect((await lab.reconciler.reconcile(view)).writes).toBe(0);
  }
  expect(await reaches(lab.lanNetns, A)).toBe(true);
});

test('an endpoint that leaves takes its device; an empty view leaves nothing, and a macvlan that is not ours is never touched', async () => {
  await lab.reconciler.reconcile(lanView(lab, [macvlan('bridge')]));
  // Someone else's macvlan in the sandbox, on a name no endpoint wants.
  await processRunner.run(['ip', '-n', lab.hostNetns, 'link', 'add', 'link', 'uplink', 'name', 'theirs', 'netns', lab.sandboxes.a, 'type', 'macvlan', 'mode', 'bridge']);

  const onlyA = macvlan('bridge');
  onlyA.endpoints = [{ sandbox: 'a', host: 10 }];
  const leave = await lab.reconciler.reconcile(lanView(lab, [onlyA], 2));
  expect(leave.actions).toContain(`ip -n ${lab.sandboxes.b} link del dev eth0`);
  expect(await linkIn(lab.sandboxes.b, 'eth0')).toBeUndefined();
  expect(await linkIn(lab.sandboxes.a, 'theirs')).toMatchObject({ kind: 'macvlan' });
  expect(await reaches(lab.lanNetns, B)).toBe(false);

  const none = { ...onlyA, endpoints: [] };
  await lab.reconciler.reconcile(lanView(lab, [none], 3));
  expect(await linkIn(lab.sandboxes.a, 'eth0')).toBeUndefined();
  expect(await linkIn(lab.sandboxes.a, 'theirs')).toMatchObject({ kind: 'macvlan' });
  expect(await reaches(lab.lanNetns, A)).toBe(false);

  await lab.reconciler.removeAll();
  const hostLinks = await processRunner.run(['ip', '-n', lab.hostNetns, '-o', 'link', 'show']);
  expect(hostLinks.split('\n').filter((line) => line.trim() !== '').map((line) => line.split(':')[1]?.trim().split('@')[0])).toEqual(['lo', 'uplink']);
});

test('what this node cannot make is skipped, saying why, and left unprogrammed: ipvlan (this kernel has none), a missing parent, a VLAN parent without VLAN devices', async () => {
  const ipvlan: LanNetworkSpec = { id: 'ipv', driver: 'ipvlan', mode: 'l2', parent: 'uplink', subnet: LAN_SUBNET, endpoints: [{ sandbox: 'a', host: 20 }] };
  const missing: LanNetworkSpec = { id: 'gone', driver: 'macvlan', mode: 'bridge', parent: 'eth9', subnet: '198.18.79', endpoints: [{ sandbox: 'a', host: 21 }] };
  const vlan: LanNetworkSpec = { id: 'tagged', driver: 'macvlan', mode: 'bridge', parent: 'uplink.42', subnet: '198.18.78', endpoints: [{ sandbox: 'b', host: 22 }] };
  const ok = macvlan('bridge');
  ok.endpoints = [{ sandbox: 'b', host: 11 }];
  const view = lanView(lab, [ipvlan, missing, vlan, ok]);

  const result = await lab.reconciler.reconcile(view);
  const expected = [
    ...(linkKinds.includes('ipvlan') ? [] : [`endpoint ${endpointId(ipvlan, 'a')}: ipvlan network ipv: the kernel of this node cannot create ipvlan devices ("Unknown device type")`]),
    `endpoint ${endpointId(missing, 'a')}: macvlan network gone: parent eth9 does not exist on this node`,
    ...(linkKinds.includes('vlan') ? [] : [`endpoint ${endpointId(vlan, 'b')}: macvlan network tagged: parent uplink.42 does not exist, and the kernel of this node cannot create VLAN devices ("Unknown device type")`]),
  ];
  expect(expected.length).toBe(3);
  expect(result.skipped).toEqual(expected);
  expect(result.unprogrammedEndpointIds.sort()).toEqual([endpointId(ipvlan, 'a'), endpointId(missing, 'a'), endpointId(vlan, 'b')].sort());
  // The rest of the view is programmed all the same.
  expect(await linkIn(lab.sandboxes.b, 'eth1')).toMatchObject({ kind: 'macvlan', addresses: [`${LAN_SUBNET}.11/24`] });
  expect(await reaches(lab.lanNetns, `${LAN_SUBNET}.11`)).toBe(true);
  for (const name of ['eth0', 'eth1']) expect(await linkIn(lab.sandboxes.a, name)).toBeUndefined();
  expect((await processRunner.run(['ip', '-n', lab.hostNetns, '-o', 'link', 'show'])).includes(VLAN_ALIAS)).toBe(false);
  expect((await lab.reconciler.reconcile(view)).writes).toBe(0);
});

test('a parent that appears later is used by the next full pass, and one that goes takes its sandboxes off the LAN', async () => {
  const late: LanNetworkSpec = { id: 'late', driver: 'macvlan', mode: 'bridge', parent: 'uplink2', subnet: '198.18.79', endpoints: [{ sandbox: 'a', host: 30 }] };
  const view = lanView(lab, [late]);
  expect((await lab.reconciler.reconcile(view)).unprogrammedEndpointIds).toEqual([endpointId(late, 'a')]);

  await processRunner.run(['ip', '-n', lab.hostNetns, 'link', 'add', 'uplink2', 'up', 'type', 'veth', 'peer', 'name', 'uplink2-peer']);
  const appeared = await lab.reconciler.reconcile(view);
  expect(appeared.unprogrammedEndpointIds).toEqual([]);
  expect(await linkIn(lab.sandboxes.a, 'eth0')).toMatchObject({ kind: 'macvlan', addresses: ['198.18.79.30/24'] });

  await processRunner.run(['ip', '-n', lab.hostNetns, 'link', 'del', 'uplink2']);
  const gone = await lab.reconciler.reconcile(view);
  expect(gone.unprogrammedEndpointIds).toEqual([endpointId(late, 'a')]);
  expect(await linkIn(lab.sandboxes.a, 'eth0')).toBeUndefined();
});

test('scoped passes connect and disconnect a LAN endpoint as a full pass would, and a full pass then finds nothing to do', async () => {
  const onlyA = macvlan('bridge');
  onlyA.endpoints = [{ sandbox: 'a', host: 10 }];
  await lab.reconciler.reconcile(lanView(lab, [onlyA]));

  const connect = await lab.reconciler.reconcileChange(lanView(lab, [macvlan('bridge')], 2));
  expect(connect.pass).toBe('scoped');
  expect(await linkIn(lab.sandboxes.b, 'eth0')).toMatchObject({ kind: 'macvlan', mode: 'bridge', addresses: [`${B}/24`] });
  expect(await reaches(lab.sandboxes.b, A)).toBe(true);
  expect((await lab.reconciler.reconcile(lanView(lab, [macvlan('bridge')], 2))).writes).toBe(0);

  const disconnect = await lab.reconciler.reconcileChange(lanView(lab, [onlyA], 3));
  expect(disconnect.pass).toBe('scoped');
  expect(await linkIn(lab.sandboxes.b, 'eth0')).toBeUndefined();
  expect((await lab.reconciler.reconcile(lanView(lab, [onlyA], 3))).writes).toBe(0);
});

test('in an adopted namespace only our LAN device is written and removed: its maker\'s interfaces are never touched, nor is a name they hold taken', async () => {
  const theirs = `${lab.owner}-theirs`;
  await processRunner.run(['ip', 'netns', 'add', theirs]);
  try {
    await processRunner.run(['ip', '-n', theirs, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'ext1']);
    const clash: LanNetworkSpec = { id: 'clash', driver: 'macvlan', mode: 'bridge', parent: 'uplink', subnet: '198.18.79', endpoints: [{ sandbox: 'a', host: 40 }] };
    const adopting = (networks: LanNetworkSpec[], revision: number) => {
      const view = lanView(lab, networks, revision);
      const [a] = view.sandboxes;
      if (a !== undefined) a.netnsPath = `/run/netns/${theirs}`;
      for (const endpoint of view.endpoints) if (endpoint.networkId === clash.id) endpoint.interfaceName = 'ext0';
      return view;
    };
    const onlyA = macvlan('bridge');
    onlyA.endpoints = [{ sandbox: 'a', host: 10 }];
    const first = await lab.reconciler.reconcile(adopting([onlyA, clash], 1));
    expect(first.skipped).toEqual([`endpoint ${lanDeviceName(endpointId(clash, 'a'))}: ext0 in adopted namespace ${theirs} is an interface Trellis does not own`]);
    expect(first.unprogrammedEndpointIds).toEqual([endpointId(clash, 'a')]);
    expect(await linkIn(theirs, 'eth0')).toMatchObject({ kind: 'macvlan', addresses: [`${A}/24`] });
    expect(await linkIn(theirs, 'ext0')).toMatchObject({ kind: 'veth', addresses: [] });
    expect(await reaches(lab.lanNetns, A)).toBe(true);
    expect((await lab.reconciler.reconcile(adopting([onlyA, clash], 1))).writes).toBe(0);

    await lab.reconciler.reconcile(adopting([{ ...onlyA, endpoints: [] }], 2));
    expect(await linkIn(theirs, 'eth0')).toBeUndefined();
    expect(await linkIn(theirs, 'ext0')).toMatchObject({ kind: 'veth' });
  } finally {
    await processRunner.run(['ip', 'netns', 'del', theirs]);
  }
});
