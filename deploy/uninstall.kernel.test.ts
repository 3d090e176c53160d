/**
 * `install.sh --uninstall` against the real kernel: what an agent programmed (network and sandbox
 * namespaces, the gateway bridge and veths, the nftables table) and the /etc/netns files of its
 * sandboxes are gone afterwards, removed through the installed artifact (`trellis agent
 * --remove-all`). The "host" is a network namespace the test makes; install.sh runs in it
 * (nsenter --net) with its files in a throwaway root. The artifact is the checkout's built CLI
 * (dist/) until a release artifact exists. Needs root and `npx tsc` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EndpointView, NodeView } from '../proto/gen/trellis/v1/dispatcher';
import { IprouteKernel, networkNetnsPrefix, processRunner } from '../agent/kernel';
import { createTestHost, deleteNetnsIfPresent, netnsNames, run } from '../agent/reconcile/kernel-test-support';
import { Reconciler } from '../agent/reconcile';
import { ETC_NETNS_DIR, SANDBOX_FILES_LEDGER, SandboxFileWriter } from '../agent/sandbox-files';
import { eventually } from '../e2e/support/lab-driver';
import { INSTALL_SH, tempDir, writeSha256 } from './throwaway-root';

const tag = `trdp${process.pid}`;
const hostNs = `${tag}-h`;
const address = '198.19.77.1';
const sandboxes = [0, 1].map((i) => ({ id: `sb${i}`, name: `s${i}`, netnsName: `trsb-${tag}-${i}`, networkMode: '', sharesNetns: false, netnsPath: '' }));
const network = { id: 'net-0', name: 'n0', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 4370, subnet: '10.232.0.0/24', gateway: '10.232.0.1', mtu: 0, internal: false };
const endpoints: EndpointView[] = sandboxes.map((sandbox, i) => ({
  id: `ep${i}`.padEnd(15, '0'), networkId: network.id, sandboxId: sandbox.id, nodeId: 'node-a', vtep: address,
  ip: `10.232.0.${i + 2}`, prefixLength: 24, mac: `02:42:0a:e8:00:0${i + 2}`, interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
}));
const view: NodeView = {
  revision: 1, nodeId: 'node-a', nodeName: hostNs, advertiseAddr: address, networks: [network], sandboxes, endpoints, members: [], overlaySubnets: [network.subnet], services: [],
};
// The agent's own view of ownership: tagged with its advertise address, as `trellis agent` does.
const reconciler = new Reconciler({ underlayDevice: 'uplink', localAddress: address }, new IprouteKernel(processRunner, { hostNetns: hostNs }));

let work: string;

const inHost = ['nsenter', `--net=/run/netns/${hostNs}`];
async function hostLinks(): Promise<string[]> {
  return (JSON.parse(await run([...inHost, 'ip', '-j', 'link', 'show'])) as { ifname: string }[]).map((link) => link.ifname);
}
async function hostTables(): Promise<string> {
  return run([...inHost, 'nft', 'list', 'tables']);
}
async function ourNamespaces(): Promise<string[]> {
  return (await netnsNames()).filter((name) => name.startsWith(networkNetnsPrefix(address)) || name.startsWith(`trsb-${tag}-`));
}

beforeAll(async () => {
  work = tempDir('uninstall');
  await createTestHost(hostNs, address);
});

afterAll(async () => {
  await reconciler.removeAll().catch(() => undefined);
  for (const name of [...sandboxes.map((sandbox) => sandbox.netnsName), hostNs]) await deleteNetnsIfPresent(name).catch(() => undefined);
  for (const sandbox of sandboxes) rmSync(join(ETC_NETNS_DIR, sandbox.netnsName), { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

test('install.sh --uninstall removes every kernel object and /etc/netns file the agent made, and every file it installed', async () => {
  const root = join(work, 'root');
  mkdirSync(root);
  const artifact = join(work, 'release', 'trellis');
  mkdirSync(join(work, 'release'));
  writeFileSync(artifact, `#!/usr/bin/env node\nrequire(${JSON.stringify(join(__dirname, '..', 'dist', 'cli', 'main.js'))});\n`);
  writeSha256(artifact);
  const config = join(work, 'agent.yaml');
  writeFileSync(config, `node: "${hostNs}"\nadvertise-addr: "${address}"\n`);
  expect(spawnSync('bash', [INSTALL_SH, '--root', root, '--artifact', artifact, '--agent-config', config]).status).toBe(0);

  // What a running agent would have made: its kernel objects, and its sandboxes' files with their ledger.
  await reconciler.reconcile(view);
  new SandboxFileWriter(join(root, 'var/lib/trellis/agent', SANDBOX_FILES_LEDGER)).sync(sandboxes.map((sandbox) => ({ netns: sandbox.netnsName, hosts: '127.0.0.1 localhost\n', resolvConf: 'nameserver 127.0.0.11\n' })));
  expect((await hostLinks()).filter((name) => name === 'trellis_gw' || name.startsWith('trgw-'))).toHaveLength(3);
  expect(await hostTables()).toContain('table ip trellis');
  expect(await ourNamespaces()).toHaveLength(3);
  expect(sandboxes.every((sandbox) => existsSync(join(ETC_NETNS_DIR, sandbox.netnsName, 'hosts')))).toBe(true);

  const uninstall = spawnSync('nsenter', [`--net=/run/netns/${hostNs}`, 'bash', INSTALL_SH, '--root', root, '--uninstall', '--remove-kernel-objects'], { encoding: 'utf8' });
  expect(uninstall.stderr).toBe('');
  expect(uninstall.status).toBe(0);

  // The kernel tears a deleted namespace down in the background: the veths it takes along go a moment later.
  await eventually(async () => (await hostLinks()).length === 3, "the removed sandboxes' gateway veths to go").catch(() => undefined);
  expect((await hostLinks()).sort()).toEqual(['lo', 'uplink', 'uplink-peer']);
  expect(await hostTables()).not.toContain('trellis');
  expect(await ourNamespaces()).toEqual([]);
  expect(sandboxes.filter((sandbox) => existsSync(join(ETC_NETNS_DIR, sandbox.netnsName)))).toEqual([]);
  expect(readdirSync(root)).toEqual([]);
});
