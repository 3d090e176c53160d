/**
 * The ipvlan driver and VLAN parents against a kernel that has them: runs inside user-mode-linux
 * (scripts/uml/run-in-uml.sh; lan.uml.test.ts bundles and boots it, then asserts on the report this
 * prints as its last line). The topology is lan-test-lab.ts's; each scenario is a fresh lab.
 */
import { lanDeviceName, processRunner, VLAN_ALIAS } from '../kernel';
import { probeLinkKinds } from '../node-facts/probe';
import {
  L3_SUBNET,
  LAN_GATEWAY,
  LAN_SUBNET,
  LanLab,
  LanNetworkSpec,
  VLAN_ID,
  VLAN_SUBNET,
  addLanVlan,
  defaultRouteIn,
  endpointId,
  lanView,
  linkIn,
  makeLanLab,
  reaches,
  removeLanLab,
} from './lan-test-lab';
import { reportFromGuest } from '../uml-lane';

let labs = 0;

async function withLab<T>(linkKinds: readonly string[], work: (lab: LanLab) => Promise<T>): Promise<T> {
  labs += 1;
  const lab = await makeLanLab(`trlu${labs}`, linkKinds);
  try {
    return await work(lab);
  } finally {
    await removeLanLab(lab);
  }
}

function ipvlan(mode: 'l2' | 'l3', parent = 'uplink', subnet = mode === 'l3' ? L3_SUBNET : LAN_SUBNET): LanNetworkSpec {
  return { id: `ipv${mode}`, driver: 'ipvlan', mode, parent, subnet, endpoints: [{ sandbox: 'a', host: 10 }, { sandbox: 'b', host: 11 }] };
}

/** What a sandbox's eth0 is, as the report shows it. */
async function deviceOf(lab: LanLab, letter: 'a' | 'b') {
  const link = await linkIn(lab.sandboxes[letter], 'eth0');
  return link && { kind: link.kind, mode: link.mode, up: link.up, mac: link.mac, alias: link.alias, addresses: link.addresses };
}

async function macOf(netns: string, name: string): Promise<string | undefined> {
  return (await linkIn(netns, name))?.mac;
}

/** ipvlan in one mode on the LAN's own parent: made, reached, left alone, repaired, removed. */
async function ipvlanScenario(linkKinds: readonly string[], mode: 'l2' | 'l3') {
  return withLab(linkKinds, async (lab) => {
    const network = ipvlan(mode);
    const view = lanView(lab, [network]);
    const first = await lab.reconciler.reconcile(view);
    const other = mode === 'l2' ? 'l3' : 'l2';
    const report = {
      skipped: first.skipped,
      actions: first.actions.filter((action) => action.includes('type ipvlan')),
      devices: { a: await deviceOf(lab, 'a'), b: await deviceOf(lab, 'b') },
      parentMac: await macOf(lab.hostNetns, 'uplink'),
      expectedAlias: lanDeviceName(endpointId(network, 'a')),
      route: await defaultRouteIn(lab.sandboxes.a),
      aToB: await reaches(lab.sandboxes.a, `${network.subnet}.11`),
      bToA: await reaches(lab.sandboxes.b, `${network.subnet}.10`),
      aToLan: await reaches(lab.sandboxes.a, LAN_GATEWAY),
      bToLan: await reaches(lab.sandboxes.b, LAN_GATEWAY),
      lanToA: await reaches(lab.lanNetns, `${network.subnet}.10`),
      secondPassWrites: (await lab.reconciler.reconcile(view)).writes,
      repair: [] as { writes: number; after: unknown; thenWrites: number }[],
      removal: { aAfter: null as unknown, lanToAAfter: true },
    };
    for (const sabotage of [['link', 'set', 'dev', 'eth0', 'type', 'ipvlan', 'mode', other], ['addr', 'flush', 'dev', 'eth0'], ['link', 'del', 'dev', 'eth0']]) {
      await processRunner.run(['ip', '-n', lab.sandboxes.a, ...sabotage]);
      const writes = (await lab.reconciler.reconcile(view)).writes;
      report.repair.push({ writes, after: await deviceOf(lab, 'a'), thenWrites: (await lab.reconciler.reconcile(view)).writes });
    }
    await lab.reconciler.reconcile(lanView(lab, [{ ...network, endpoints: network.endpoints.filter(({ sandbox }) => sandbox === 'b') }], 2));
    report.removal = { aAfter: (await deviceOf(lab, 'a')) ?? null, lanToAAfter: await reaches(lab.lanNetns, `${network.subnet}.10`) };
    return report;
  });
}

/** An ipvlan l2 network on `uplink.42`, which the agent makes, repairs and removes; the user's own VLAN is used and left. */
async function vlanScenario(linkKinds: readonly string[]) {
  return withLab(linkKinds, async (lab) => {
    await addLanVlan(lab);
    const parent = `uplink.${VLAN_ID}`;
    const network = ipvlan('l2', parent, VLAN_SUBNET);
    const view = lanView(lab, [network]);
    const vlanLink = async () => {
      const link = await linkIn(lab.hostNetns, parent);
      return link && { kind: link.kind, alias: link.alias, up: link.up };
    };
    const first = await lab.reconciler.reconcile(view);
    const report = {
      skipped: first.skipped,
      vlanActions: first.actions.filter((action) => action.includes(parent)),
      vlan: await vlanLink(),
      aToB: await reaches(lab.sandboxes.a, `${VLAN_SUBNET}.11`),
      aToVlanLan: await reaches(lab.sandboxes.a, `${VLAN_SUBNET}.1`),
      vlanLanToB: await reaches(lab.lanNetns, `${VLAN_SUBNET}.11`),
      secondPassWrites: (await lab.reconciler.reconcile(view)).writes,
      repairWrites: 0,
      afterRepair: { vlan: undefined as unknown, a: undefined as unknown, aToVlanLan: false },
      repairThenWrites: -1,
      removedVlan: null as unknown,
      theirs: { usedBy: null as unknown, left: null as unknown },
    };
    // The VLAN device deleted by hand takes the sandboxes' devices with it: all come back in one pass.
    await processRunner.run(['ip', '-n', lab.hostNetns, 'link', 'del', 'dev', parent]);
    report.repairWrites = (await lab.reconciler.reconcile(view)).writes;
    report.afterRepair = { vlan: await vlanLink(), a: await deviceOf(lab, 'a'), aToVlanLan: await reaches(lab.sandboxes.a, `${VLAN_SUBNET}.1`) };
    report.repairThenWrites = (await lab.reconciler.reconcile(view)).writes;

    // A VLAN device the user made (no alias) is a parent like any other, and never removed.
    await processRunner.run(['ip', '-n', lab.hostNetns, 'link', 'add', 'link', 'uplink', 'name', 'uplink.43', 'up', 'type', 'vlan', 'id', '43']);
    const theirs: LanNetworkSpec = { id: 'theirs', driver: 'ipvlan', mode: 'l2', parent: 'uplink.43', subnet: '198.18.80', endpoints: [{ sandbox: 'a', host: 12 }] };
    await lab.reconciler.reconcile(lanView(lab, [theirs], 2));
    report.removedVlan = (await vlanLink()) ?? null;
    report.theirs.usedBy = (await deviceOf(lab, 'a')) ?? null;
    await lab.reconciler.reconcile(lanView(lab, [], 3));
    const left = await linkIn(lab.hostNetns, 'uplink.43');
    report.theirs.left = left ? { kind: left.kind, alias: left.alias ?? null } : null;
    return report;
  });
}

async function main(): Promise<Record<string, unknown>> {
  const linkKinds = await probeLinkKinds(processRunner);
  return {
    linkKinds,
    vlanAlias: VLAN_ALIAS,
    l2: await ipvlanScenario(linkKinds, 'l2'),
    l3: await ipvlanScenario(linkKinds, 'l3'),
    vlan: await vlanScenario(linkKinds),
    leftNamespaces: (await processRunner.run(['ip', 'netns', 'list'])).trim(),
  };
}

reportFromGuest('lan-uml-lab', main);
