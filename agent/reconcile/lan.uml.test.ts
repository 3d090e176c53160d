/**
 * The ipvlan driver and VLAN parents for real: this host's kernel has neither, so the reconciler
 * runs against the kernel of a user-mode-linux guest (scripts/uml/run-in-uml.sh), which has both.
 * One boot runs every scenario of lan-uml-lab.ts; the assertions are here. Needs root (as the IPVS
 * lane, ipvs.uml.test.ts): without root it is skipped, saying so.
 */
import { join } from 'node:path';
import { CAN_BOOT_UML, runLabInUml } from '../uml-lane';

const lane = CAN_BOOT_UML ? describe : describe.skip;
if (!CAN_BOOT_UML) console.warn('lan.uml.test.ts skipped: the ipvlan lane boots user-mode-linux, which needs root (CI runs it as root)');

interface Device {
  kind: string;
  mode: string;
  up: boolean;
  mac: string;
  alias: string;
  addresses: string[];
}

interface IpvlanReport {
  skipped: string[];
  actions: string[];
  devices: { a: Device; b: Device };
  parentMac: string;
  expectedAlias: string;
  route: string;
  aToB: boolean;
  bToA: boolean;
  aToLan: boolean;
  bToLan: boolean;
  lanToA: boolean;
  secondPassWrites: number;
  repair: { writes: number; after: Device; thenWrites: number }[];
  removal: { aAfter: Device | null; lanToAAfter: boolean };
}

interface Report {
  linkKinds: string[];
  l2: IpvlanReport;
  l3: IpvlanReport;
  vlan: {
    skipped: string[];
    vlanActions: string[];
    vlan: { kind: string; alias: string; up: boolean };
    aToB: boolean;
    aToVlanLan: boolean;
    vlanLanToB: boolean;
    secondPassWrites: number;
    repairWrites: number;
    afterRepair: { vlan: unknown; a: Device; aToVlanLan: boolean };
    repairThenWrites: number;
    removedVlan: unknown;
    theirs: { usedBy: Device | null; left: unknown };
  };
  leftNamespaces: string;
}

lane('ipvlan and VLAN parents inside user-mode-linux', () => {
  let report: Report;

  beforeAll(async () => {
    report = (await runLabInUml(join(__dirname, 'lan-uml-lab.ts'), 'ipvlan')) as Report;
  }, 660_000);

  test('the guest kernel can make macvlan, ipvlan and VLAN devices, and the agent detects it', () => {
    expect(report.linkKinds).toEqual(['macvlan', 'ipvlan', 'vlan']);
  });

  describe.each(['l2', 'l3'] as const)('ipvlan %s', (mode) => {
    const subnet = mode === 'l2' ? '198.18.77' : '10.88.0';

    test('each sandbox gets an ipvlan device in that mode on the parent, sharing its MAC, with its address, tagged as ours', () => {
      const r = report[mode];
      expect(r.skipped).toEqual([]);
      expect(r.actions).toEqual([
        expect.stringMatching(new RegExp(`^ip link add link uplink name eth0 netns trsb-\\S+-a type ipvlan mode ${mode}$`)),
        expect.stringMatching(new RegExp(`^ip link add link uplink name eth0 netns trsb-\\S+-b type ipvlan mode ${mode}$`)),
      ]);
      expect(r.devices.a).toEqual({ kind: 'ipvlan', mode, up: true, mac: r.parentMac, alias: r.expectedAlias, addresses: [`${subnet}.10/24`] });
      expect(r.devices.b).toMatchObject({ kind: 'ipvlan', mode, mac: r.parentMac, addresses: [`${subnet}.11/24`] });
    });

    test(`the default route is ${mode === 'l2' ? 'via the LAN gateway' : 'on-link, out of the interface'}`, () => {
      expect(report[mode].route).toBe(mode === 'l2' ? 'default via 198.18.77.1 dev eth0' : 'default dev eth0 scope link');
    });

    test('two sandboxes on one parent reach each other and an address on the parent\'s subnet, and the LAN reaches them', () => {
      const r = report[mode];
      expect({ aToB: r.aToB, bToA: r.bToA, aToLan: r.aToLan, bToLan: r.bToLan, lanToA: r.lanToA }).toEqual({ aToB: true, bToA: true, aToLan: true, bToLan: true, lanToA: true });
    });

    test('a second pass writes nothing; the mode changed by hand, the address removed and the device deleted are each repaired in one pass', () => {
      const r = report[mode];
      expect(r.secondPassWrites).toBe(0);
      expect(r.repair).toHaveLength(3);
      for (const repair of r.repair) {
        expect(repair.writes).toBeGreaterThan(0);
        expect(repair.after).toEqual(r.devices.a);
        expect(repair.thenWrites).toBe(0);
      }
    });

    test('an endpoint that leaves takes its device, and its address stops answering', () => {
      expect(report[mode].removal).toEqual({ aAfter: null, lanToAAfter: false });
    });
  });

  test('a VLAN parent (uplink.42) is made by the agent, up and tagged, and carries the sandboxes onto that VLAN', () => {
    const r = report.vlan;
    expect(r.skipped).toEqual([]);
    expect(r.vlanActions.slice(0, 2)).toEqual(['ip link add link uplink name uplink.42 up type vlan id 42', 'ip link set dev uplink.42 alias trellis-vlan']);
    expect(r.vlan).toEqual({ kind: 'vlan', alias: 'trellis-vlan', up: true });
    expect({ aToB: r.aToB, aToVlanLan: r.aToVlanLan, vlanLanToB: r.vlanLanToB }).toEqual({ aToB: true, aToVlanLan: true, vlanLanToB: true });
    expect(r.secondPassWrites).toBe(0);
  });

  test('the VLAN device deleted by hand comes back with the sandboxes\' devices in one pass', () => {
    const r = report.vlan;
    expect(r.repairWrites).toBeGreaterThan(0);
    expect(r.afterRepair).toEqual({ vlan: r.vlan, a: expect.objectContaining({ kind: 'ipvlan', addresses: ['198.18.78.10/24'] }), aToVlanLan: true });
    expect(r.repairThenWrites).toBe(0);
  });

  test('the agent\'s VLAN device goes with the last network on it; a VLAN device the user made is used as a parent and never removed', () => {
    const r = report.vlan;
    expect(r.removedVlan).toBeNull();
    expect(r.theirs.usedBy).toMatchObject({ kind: 'ipvlan', addresses: ['198.18.80.12/24'] });
    expect(r.theirs.left).toEqual({ kind: 'vlan', alias: null });
  });

  test('nothing is left behind', () => {
    expect(report.leftNamespaces).toBe('');
  });
});
