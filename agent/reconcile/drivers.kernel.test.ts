/**
 * Each kind of kernel object the agent writes, on its own and in namespaces made fresh for the
 * test: the agent creates it, a second pass writes nothing, a change made from outside is put back
 * in one pass, and an empty view removes it. Needs root.
 */
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import {
  EGRESS_INTERFACE,
  FIREWALL_TABLE,
  IprouteKernel,
  bridgeName,
  hostVethName,
  networkNetnsName,
  networkNetnsPrefix,
  processRunner,
  vxlanName,
} from '../kernel';
import { deleteNetnsIfPresent, netnsNames, run } from './kernel-test-support';
import { Reconciler } from './reconciler';
import { PLAIN_ENDPOINT } from './test-fixtures';

const HOST_ADDRESS = '198.18.0.1';
const REMOTE_VTEP = '198.18.0.2';
const SUBNET_PREFIX = '10.231.9';

interface Driver {
  /** What the object is, as the test's name says it. */
  what: string;
  /** Whether the object is in the kernel as the view wants it. */
  present(lab: DriverLab): Promise<boolean>;
  /** A change someone makes by hand that leaves the object wrong or gone. */
  sabotage(lab: DriverLab): Promise<unknown>;
}

/** One test's host (a namespace with its underlay veth), its reconciler and the names the view gives objects. */
interface DriverLab {
  hostNetns: string;
  sandboxNetns: string;
  networkNetns: string;
  owner: string;
  vni: number;
  hostVeth: string;
  reconciler: Reconciler;
  view: NodeView;
}

let labs = 0;

async function makeLab(): Promise<DriverLab> {
  labs += 1;
  const owner = `trdk${process.pid}-${labs}`;
  const hostNetns = `${owner}-h`;
  const vni = 4300 + labs;
  const sandboxNetns = `trsb-${owner}-a`;
  const local = { id: `ep${owner}`, ip: `${SUBNET_PREFIX}.2`, mac: '02:42:0a:e7:09:02' };
  const lab: DriverLab = {
    hostNetns,
    sandboxNetns,
    networkNetns: networkNetnsName(owner, vni),
    owner,
    vni,
    hostVeth: hostVethName(local.id),
    reconciler: new Reconciler({ underlayDevice: 'uplink', owner }, new IprouteKernel(processRunner, { hostNetns })),
    view: {
      revision: 1, nodeId: 'node-1', nodeName: hostNetns, advertiseAddr: HOST_ADDRESS, members: [], overlaySubnets: [`${SUBNET_PREFIX}.0/24`], services: [],
      networks: [{ driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, id: 'net-1', name: 'front', vni, subnet: `${SUBNET_PREFIX}.0/24`, gateway: `${SUBNET_PREFIX}.1`, mtu: 0, internal: false }],
      sandboxes: [{ networkMode: '', sharesNetns: false, id: 'sandbox-a', name: 'a', netnsName: sandboxNetns, netnsPath: '' }],
      endpoints: [
        {
          ...local, networkId: 'net-1', sandboxId: 'sandbox-a', nodeId: 'node-1', vtep: HOST_ADDRESS, prefixLength: 24,
          interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [], publishedPorts: [{ protocol: 'tcp', hostPort: 8080, port: 80 }],
          ...PLAIN_ENDPOINT,
        },
        {
          id: 'epremote', ip: `${SUBNET_PREFIX}.3`, mac: '02:42:0a:e7:09:03', networkId: 'net-1', sandboxId: 'sandbox-b', nodeId: 'node-2',
          vtep: REMOTE_VTEP, prefixLength: 24, interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
        },
      ],
    },
  };
  await run(['ip', 'netns', 'add', hostNetns]);
  await run(['ip', '-n', hostNetns, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink-peer']);
  await run(['ip', '-n', hostNetns, 'addr', 'add', `${HOST_ADDRESS}/24`, 'dev', 'uplink']);
  for (const device of ['lo', 'uplink', 'uplink-peer']) await run(['ip', '-n', hostNetns, 'link', 'set', 'dev', device, 'up']);
  return lab;
}

/** Everything the test made, by exact name, whether or not it got that far. */
async function removeLab(lab: DriverLab): Promise<void> {
  await lab.reconciler.removeAll().catch(() => undefined);
  for (const name of [lab.sandboxNetns, lab.networkNetns, lab.hostNetns]) await deleteNetnsIfPresent(name).catch(() => undefined);
}

function inNetns(netns: string, ...argv: string[]): Promise<string> {
  return run(['ip', 'netns', 'exec', netns, ...argv]);
}

const DRIVERS: Driver[] = [
  {
    what: "links: the endpoint's veth, its host end a port of the network's bridge",
    present: async (lab) => {
      const [link] = JSON.parse(await run(['ip', '-n', lab.networkNetns, '-j', 'link', 'show', 'dev', lab.hostVeth])) as { master?: string }[];
      const inSandbox = await run(['ip', '-n', lab.sandboxNetns, '-j', 'link', 'show', 'dev', 'eth0']).then(() => true, () => false);
      return link?.master === bridgeName(lab.vni) && inSandbox;
    },
    sabotage: (lab) => run(['ip', '-n', lab.networkNetns, 'link', 'set', 'dev', lab.hostVeth, 'nomaster']),
  },
  {
    what: "addresses: the endpoint's address on the sandbox interface",
    present: async (lab) => (await run(['ip', '-n', lab.sandboxNetns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).includes(`${SUBNET_PREFIX}.2/24`),
    sabotage: (lab) => run(['ip', '-n', lab.sandboxNetns, 'addr', 'flush', 'dev', 'eth0']),
  },
  {
    what: "routes: the sandbox's default route through the gateway bridge",
    present: async (lab) => (await run(['ip', '-n', lab.sandboxNetns, 'route', 'show', 'default'])).includes(`via 172.29.0.1 dev ${EGRESS_INTERFACE}`),
    sabotage: (lab) => run(['ip', '-n', lab.sandboxNetns, 'route', 'replace', 'default', 'via', '172.29.0.9', 'dev', EGRESS_INTERFACE]),
  },
  {
    what: "FDB: the remote endpoint's MAC behind its host's VTEP",
    // The VXLAN device's underlay is in the host namespace, so the entry also names its link-netnsid.
    present: async (lab) =>
      new RegExp(`^02:42:0a:e7:09:03 dst ${REMOTE_VTEP} .*self permanent$`, 'm').test(await run(['bridge', '-n', lab.networkNetns, 'fdb', 'show', 'dev', vxlanName(lab.vni)])),
    sabotage: (lab) =>
      run(['bridge', '-n', lab.networkNetns, 'fdb', 'replace', '02:42:0a:e7:09:03', 'dev', vxlanName(lab.vni), 'dst', '198.18.0.99', 'self', 'permanent']),
  },
  {
    what: "neighbours: the remote endpoint's permanent ARP entry",
    present: async (lab) =>
      (await run(['ip', '-n', lab.networkNetns, 'neigh', 'show', 'dev', vxlanName(lab.vni)])).includes(`${SUBNET_PREFIX}.3 lladdr 02:42:0a:e7:09:03 PERMANENT`),
    sabotage: (lab) =>
      run(['ip', '-n', lab.networkNetns, 'neigh', 'replace', `${SUBNET_PREFIX}.3`, 'lladdr', '02:42:0a:e7:09:99', 'dev', vxlanName(lab.vni), 'nud', 'permanent']),
  },
  {
    what: "nftables: the published port's DNAT to the sandbox's gateway address, in the host namespace",
    present: (lab) =>
      inNetns(lab.hostNetns, 'nft', 'list', 'table', 'ip', FIREWALL_TABLE).then((table) => table.includes('tcp dport 8080 dnat to 172.29.0.2:80'), () => false),
    sabotage: (lab) => inNetns(lab.hostNetns, 'nft', 'flush', 'table', 'ip', FIREWALL_TABLE),
  },
];

describe.each(DRIVERS)('$what', (driver) => {
  let lab: DriverLab;
  beforeEach(async () => {
    lab = await makeLab();
  });
  afterEach(() => removeLab(lab));

  test('is created, left alone when right, put back after a change by hand, and removed', async () => {
    expect((await lab.reconciler.reconcile(lab.view)).writes).toBeGreaterThan(0);
    expect(await driver.present(lab)).toBe(true);
    expect((await lab.reconciler.reconcile(lab.view)).writes).toBe(0);

    await driver.sabotage(lab);
    expect(await driver.present(lab)).toBe(false);
    expect((await lab.reconciler.reconcile(lab.view)).writes).toBeGreaterThan(0);
    expect(await driver.present(lab)).toBe(true);
    expect((await lab.reconciler.reconcile(lab.view)).writes).toBe(0);

    await lab.reconciler.removeAll();
    expect(await driver.present(lab).catch(() => false)).toBe(false);
    const left = (await netnsNames()).filter((name) => name === lab.sandboxNetns || name.startsWith(networkNetnsPrefix(lab.owner)));
    expect(left).toEqual([]);
  });
});
