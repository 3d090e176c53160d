/**
 * The firewall table against the real kernel, with real traffic: a host namespace with a gateway
 * bridge, two sandboxes on it and an outside namespace on an underlay veth. Needs root.
 */
import { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { DesiredFirewall, deleteScript, renderTable, replaceScript } from '.';
import { buildLab, deleteRuleByHand, lab, listedTable, nftInHost, removeLab, withOutsideRouteToSandboxes } from './kernel-test-lab';
import { connect, startServer } from './kernel-test-traffic';
import { arbitraryFirewall } from './test-arbitraries';

const OUTSIDE_PORT = 7000;
const SANDBOX_A_PORT = 80;
const SANDBOX_B_PORT = 5353;

const firewall: DesiredFirewall = {
  table: lab.table,
  gatewayBridge: lab.gatewayBridge,
  gatewaySubnet: lab.gatewaySubnet,
  isolatedSubnets: [lab.overlaySubnet, '10.231.6.0/24'],
  published: [
    { protocol: 'udp', hostPort: 5300, address: lab.sandboxB.gatewayIp, port: SANDBOX_B_PORT },
    { protocol: 'tcp', hostPort: 8080, address: lab.sandboxA.gatewayIp, port: SANDBOX_A_PORT },
  ],
  localBridges: [],
};
const withoutIsolation: DesiredFirewall = { ...firewall, isolatedSubnets: ['10.231.6.0/24'] };

const servers: ChildProcess[] = [];

beforeAll(async () => {
  await buildLab();
  servers.push(await startServer(lab.outside.netns, [OUTSIDE_PORT]));
  servers.push(await startServer(lab.sandboxA.netns, [SANDBOX_A_PORT]));
  servers.push(await startServer(lab.sandboxB.netns, [SANDBOX_B_PORT]));
});

afterAll(async () => {
  for (const server of servers) server.kill();
  await removeLab();
});

describe('firewall table on a real kernel', () => {
  test('without the table a sandbox cannot reach the outside, which can only come in directly', async () => {
    expect(await connect(lab.sandboxA.netns, 'tcp', lab.outside.underlayIp, OUTSIDE_PORT)).toBe('timeout');
    const direct = await withOutsideRouteToSandboxes(() => connect(lab.outside.netns, 'tcp', lab.sandboxA.gatewayIp, SANDBOX_A_PORT));
    expect(direct).toBe(`reply ${lab.outside.underlayIp}`);
  });

  test('replaceScript creates the table and the listing then equals renderTable', async () => {
    expect(await listedTable(lab.table)).toBeUndefined();

    await nftInHost(replaceScript(firewall));
    expect(await listedTable(lab.table)).toBe(renderTable(firewall));

    await nftInHost(replaceScript(firewall));
    expect(await listedTable(lab.table)).toBe(renderTable(firewall));
  });

  test('egress: a sandbox reaches the outside, masqueraded to the host underlay address', async () => {
    expect(await connect(lab.sandboxA.netns, 'tcp', lab.outside.underlayIp, OUTSIDE_PORT)).toBe(`reply ${lab.host.underlayIp}`);
    expect(await connect(lab.sandboxB.netns, 'udp', lab.outside.underlayIp, OUTSIDE_PORT)).toBe(`reply ${lab.host.underlayIp}`);
  });

  test('published ports reach the sandbox from another host and from the host itself', async () => {
    expect(await connect(lab.outside.netns, 'tcp', lab.host.underlayIp, 8080)).toBe(`reply ${lab.outside.underlayIp}`);
    expect(await connect(lab.outside.netns, 'udp', lab.host.underlayIp, 5300)).toBe(`reply ${lab.outside.underlayIp}`);
    expect(await connect(lab.host.netns, 'tcp', lab.host.underlayIp, 8080)).toBe(`reply ${lab.host.underlayIp}`);
    expect(await connect(lab.host.netns, 'udp', lab.host.gatewayIp, 5300)).toBe(`reply ${lab.host.gatewayIp}`);
  });

  test('hairpin: a published port answers a sandbox on the gateway bridge that asks the host address', async () => {
    // Where the host routes the flow it is masqueraded to the gateway; where br_netfilter bridges it, the asker's own address shows.
    const answered = (asker: string) => expect.stringMatching(new RegExp(`^reply (${lab.host.gatewayIp}|${asker})$`));
    expect(await connect(lab.sandboxB.netns, 'tcp', lab.host.underlayIp, 8080)).toEqual(answered(lab.sandboxB.gatewayIp));
    expect(await connect(lab.sandboxA.netns, 'udp', lab.host.underlayIp, 5300)).toEqual(answered(lab.sandboxA.gatewayIp));
  });

  test('loopback is not published: 127.0.0.1 stays the host\'s own', async () => {
    expect(await connect(lab.host.netns, 'tcp', '127.0.0.1', 8080)).toBe('refused');
  });

  test('the host reaches sandboxes directly; the outside does not, unless by a published port', async () => {
    expect(await connect(lab.host.netns, 'tcp', lab.sandboxA.gatewayIp, SANDBOX_A_PORT)).toBe(`reply ${lab.host.gatewayIp}`);
    const direct = await withOutsideRouteToSandboxes(() => connect(lab.outside.netns, 'tcp', lab.sandboxA.gatewayIp, SANDBOX_A_PORT));
    expect(direct).toBe('timeout');
  });

  test('isolation: a sandbox cannot reach an isolated overlay subnet the host routes to', async () => {
    expect(await connect(lab.sandboxA.netns, 'tcp', lab.outside.overlayIp, OUTSIDE_PORT)).toBe('timeout');

    await nftInHost(replaceScript(withoutIsolation));
    expect(await connect(lab.sandboxA.netns, 'tcp', lab.outside.overlayIp, OUTSIDE_PORT)).toBe(`reply ${lab.host.underlayIp}`);

    await nftInHost(replaceScript(firewall));
    expect(await connect(lab.sandboxA.netns, 'tcp', lab.outside.overlayIp, OUTSIDE_PORT)).toBe('timeout');
  });

  test('repair: a rule deleted by hand shows as a difference, and replaceScript restores it', async () => {
    await deleteRuleByHand(lab.table, 'postrouting', 'masquerade');
    expect(await listedTable(lab.table)).not.toBe(renderTable(firewall));
    expect(await connect(lab.sandboxA.netns, 'tcp', lab.outside.underlayIp, OUTSIDE_PORT)).toBe('timeout');

    await nftInHost(replaceScript(firewall));
    expect(await listedTable(lab.table)).toBe(renderTable(firewall));
    expect(await connect(lab.sandboxA.netns, 'tcp', lab.outside.underlayIp, OUTSIDE_PORT)).toBe(`reply ${lab.host.underlayIp}`);
  });

  test('whatever the desired state, the listing after a replace equals renderTable', async () => {
    const table = `${lab.table}rt`;
    await fc.assert(
      fc.asyncProperty(arbitraryFirewall(table), async (desired) => {
        await nftInHost(replaceScript(desired));
        expect(await listedTable(table)).toBe(renderTable(desired));
      }),
      { numRuns: 60 },
    );
    await nftInHost(deleteScript(table));
  });

  test('deleteScript removes only our table, and again is a no-op', async () => {
    const otherTable = `${lab.table}other`;
    await nftInHost(`table ip ${otherTable} {\nchain keep {\ntype filter hook input priority filter; policy accept;\n}\n}\n`);
    const otherBefore = await listedTable(otherTable);

    await nftInHost(deleteScript(lab.table));
    await nftInHost(deleteScript(lab.table));

    expect(await listedTable(lab.table)).toBeUndefined();
    expect(otherBefore).toContain('chain keep');
    expect(await listedTable(otherTable)).toBe(otherBefore);
    expect(await connect(lab.outside.netns, 'tcp', lab.host.underlayIp, 8080)).toBe('refused');
  });
});
