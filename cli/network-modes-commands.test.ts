import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegisterRequest } from '../proto/gen/trellis/v1/dispatcher';
import { callUnary } from '../proto/runtime/unary-call';
import { startApiManager, stopApiManager, type ApiManager } from '../manager/api/test-api-manager';
import { cliAgainst } from './test-cli';

/** `network create --driver …`, `sandbox create --network …`, `network connect -P --expose …` and `sandbox port` as a user types them, against a real manager. */
describe('the network mode commands', () => {
  let dir: string;
  let api: ApiManager;
  const { trellis, ok } = cliAgainst(() => ({ manager: api.manager.address, tlsDir: join(dir, 'admin') }));
  const inspect = async (group: string, name: string): Promise<Record<string, unknown>> => JSON.parse(await ok(group, 'inspect', name)) as Record<string, unknown>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-modes-cli-'));
    api = await startApiManager(dir);
    const report = RegisterRequest.fromPartial({
      nodeName: 'n1',
      advertiseAddr: '198.18.0.11',
      interfaces: [{ name: 'eth0', kind: '', addresses: ['198.18.0.11/24'] }],
      linkKinds: ['macvlan'],
      ephemeralPortFirst: 34000,
      ephemeralPortLast: 34999,
    });
    await callUnary(api.dispatcher, (d) => d.register, report, 10_000);
    await ok('network', 'create', 'blue', '--subnet', '10.234.0.0/24');
  });
  afterAll(async () => {
    await stopApiManager(api);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates bridge and macvlan networks on a node, listed with where they live and inspected with their options', async () => {
    await ok('network', 'create', '--driver', 'bridge', '--node', 'n1', '--subnet', '10.60.0.0/24', '-o', 'icc=false', 'br');
    await ok('network', 'create', '--driver', 'macvlan', '--node', 'n1', '--parent', 'eth0', '--subnet', '198.18.0.0/24', '--opt', 'macvlan_mode=private', 'lan');
    expect(await inspect('network', 'br')).toMatchObject({ driver: 'bridge', node: 'n1', options: { icc: 'false' }, vni: 0 });
    expect(await inspect('network', 'lan')).toMatchObject({ driver: 'macvlan', node: 'n1', parent: 'eth0', options: { macvlan_mode: 'private' } });
    const rows = (await ok('network', 'ls')).trim().split('\n');
    expect(rows[0]).toMatch(/ENDPOINTS\s+NODE$/);
    expect(rows.find((row) => row.includes(' br '))).toMatch(/ n1$/);
    expect(rows.find((row) => row.includes(' lan '))).toMatch(/ n1\/eth0$/);
    expect(rows.find((row) => row.includes(' blue '))).toMatch(/ -$/);
  });

  it("shows the node's interfaces and link kinds in node inspect", async () => {
    expect(await inspect('node', 'n1')).toMatchObject({ interfaces: [{ name: 'eth0', addresses: ['198.18.0.11/24'] }], linkKinds: ['macvlan'] });
  });

  it.each([
    [['network', 'create', '--driver', 'macvlan', '--node', 'n1', '--subnet', '198.19.0.0/24', 'nope'], 'parent: a macvlan network'],
    [['network', 'create', '--driver', 'ipvlan', '--node', 'n1', '--parent', 'eth0', '--subnet', '198.19.0.0/24', 'nope'], 'lacks ipvlan'],
    [['network', 'create', '--driver', 'bridge', '--node', 'n1', '-o', 'icc', 'nope'], '--opt: "icc" is not name=value'],
    [['sandbox', 'create', 'nope', '--node', 'n1', '--network', 'blue'], 'trellis network connect NETWORK SANDBOX'],
    [['sandbox', 'create', 'nope', '--node', 'n1', '--network', 'host', '--netns-from', 'app'], '--netns-from: give it or --network host, not both'],
    [['network', 'connect', '--expose', '80/sctp', 'br', 'app'], '--expose: "80/sctp" is not PORT[/tcp|udp]'],
  ])('refuses %j saying what to do', async (args, says) => {
    const answer = await trellis(...args);
    expect(answer.code).not.toBe(0);
    expect(answer.stderr).toContain(says);
  });

  it('creates sandboxes with --network host, none and container:OTHER', async () => {
    await ok('sandbox', 'create', 'app', '--node', 'n1');
    await ok('sandbox', 'create', 'tools', '--node', 'n1', '--network', 'host');
    await ok('sandbox', 'create', 'quiet', '--node', 'n1', '--network', 'none');
    await ok('sandbox', 'create', 'side', '--node', 'n1', '--network', 'container:app');
    await ok('sandbox', 'create', 'side2', '--node', 'n1', '--netns-from', 'app');
    const app = await inspect('sandbox', 'app');
    expect(await inspect('sandbox', 'tools')).toMatchObject({ networkMode: 'host' });
    expect(await inspect('sandbox', 'quiet')).toMatchObject({ networkMode: 'none' });
    expect(await inspect('sandbox', 'side')).toMatchObject({ netnsFrom: app.id, netns: app.netns });
    expect(await inspect('sandbox', 'side2')).toMatchObject({ netnsFrom: app.id, netns: app.netns });
    const rows = (await ok('sandbox', 'ls')).trim().split('\n');
    expect(rows.find((row) => row.includes(' tools '))).toMatch(/ host\s+-$/);
    expect(rows.find((row) => row.includes(' quiet '))).toMatch(/ none\s+-$/);
    expect(rows.find((row) => row.includes(' side '))).toContain(` container:${String(app.id).slice(0, 12)} `);
    const refused = await trellis('network', 'connect', 'br', 'tools', '--publish', '8080:80');
    expect(refused.stderr).toContain('published_ports: sandbox "tools" uses the host\'s network');
  });

  it('publishes every exposed port with -P, and sandbox port lists them as docker port does', async () => {
    const nothing = await trellis('network', 'connect', '-P', 'br', 'app');
    expect(nothing.stderr).toContain('-P with nothing exposed: add --expose PORT');
    await ok('network', 'connect', '-P', '--expose', '80', '--expose', '53/udp', '--publish', '8080:8080', 'br', 'app');
    expect(await ok('sandbox', 'port', 'app')).toBe('8080/tcp -> 0.0.0.0:8080\n80/tcp -> 0.0.0.0:34000\n53/udp -> 0.0.0.0:34000\n');
    expect(await ok('sandbox', 'port', 'app', '53/udp')).toBe('53/udp -> 0.0.0.0:34000\n');
    expect(JSON.parse(await ok('sandbox', 'port', 'app', '--format', 'json'))).toContainEqual({ network: 'br', protocol: 'tcp', port: 80, hostPort: 34000 });
    const missing = await trellis('sandbox', 'port', 'app', '443');
    expect(missing.stderr).toContain('publishes no port 443');
    await ok('sandbox', 'create', 'app2', '--node', 'n1');
    await ok('network', 'connect', '--publish-all', '--expose', '80', 'br', 'app2');
    expect(await ok('sandbox', 'port', 'app2')).toBe('80/tcp -> 0.0.0.0:34001\n');
  });
});
