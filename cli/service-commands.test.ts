import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegisterRequest } from '../proto/gen/trellis/v1/dispatcher';
import { callUnary } from '../proto/runtime/unary-call';
import { startApiManager, stopApiManager, type ApiManager } from '../manager/api/test-api-manager';
import { cliAgainst } from './test-cli';

interface ServiceJson {
  ports: { protocol: string; targetPort: number; publishedPort: number; publishMode: string }[];
  drainTimeoutSeconds: number;
  tcpIdleTimeoutSeconds: number;
  udpIdleTimeoutSeconds: number;
  readyBackends: number;
  backends: { sandboxName: string; ready: boolean; draining: boolean }[];
  programming: { node: string; live: boolean; programmed: boolean; programmedRevision: number }[];
}

/** `trellis service …`, `network disconnect`, `sandbox rm` as a user types them, against a real manager. */
describe('the service commands', () => {
  let dir: string;
  let api: ApiManager;

  const { trellis, ok } = cliAgainst(() => ({ manager: api.manager.address, tlsDir: join(dir, 'admin') }));
  const inspect = async <T>(group: string, name: string): Promise<T> => JSON.parse(await ok(group, 'inspect', name)) as T;
  const serviceJson = (name: string) => inspect<ServiceJson>('service', name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-service-cli-'));
    api = await startApiManager(dir);
    await callUnary(api.dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'n1', advertiseAddr: '198.18.0.11' }), 10_000);
    await ok('network', 'create', 'blue', '--subnet', '10.234.0.0/24');
  });
  afterAll(async () => {
    await stopApiManager(api);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a service with drain and idle timeouts given as durations', async () => {
    await ok('service', 'create', 'api', '--network', 'blue', '--publish', '8080:80', '--drain-timeout', '1m30s', '--idle-timeout-tcp', '2h', '--idle-timeout-udp', '45s');
    expect(await serviceJson('api')).toMatchObject({ drainTimeoutSeconds: 90, tcpIdleTimeoutSeconds: 7200, udpIdleTimeoutSeconds: 45 });
  });

  it('updates published ports and timeouts', async () => {
    await ok('service', 'update', 'api', '--publish-add', '8443:443', '--publish-add', 'published=5353,target=53,protocol=udp,mode=host', '--publish-rm', '8080', '--drain-timeout', '0');
    const updated = await serviceJson('api');
    expect(updated.ports).toEqual([
      { protocol: 'tcp', targetPort: 443, publishedPort: 8443, publishMode: 'ingress' },
      { protocol: 'udp', targetPort: 53, publishedPort: 5353, publishMode: 'host' },
    ]);
    expect(updated).toMatchObject({ drainTimeoutSeconds: 0, tcpIdleTimeoutSeconds: 7200 });
    await ok('service', 'update', 'api', '--drain-timeout', '30s');
  });

  it.each([
    [['service', 'update', 'api', '--publish-rm', '9999'], 'publish_rm: 9999/tcp is not published by service "api" (it publishes 8443/tcp, 5353/udp); give one of its ports (INVALID_ARGUMENT)'],
    [['service', 'update', 'api', '--publish-add', '8443:444'], 'publish_add: 8443/tcp is already published by service "api"'],
    [['service', 'update', 'api', '--publish-add', '4789/udp'], 'publish_add: 4789/udp is the VXLAN port of this cluster'],
    [['service', 'update', 'api', '--drain-timeout', '25h'], '--drain-timeout: 25h is out of range; give 0s to 24h'],
    [['service', 'update', 'api', '--idle-timeout-tcp', '10'], '--idle-timeout-tcp: "10" is not a duration; give one like 30s, 5m, 1h30m or 2d'],
    [['service', 'update', 'api'], 'service update: nothing to change; give --publish-add, --publish-rm, --drain-timeout, --idle-timeout-tcp or --idle-timeout-udp'],
    [['service', 'create', 'bad', '--network', 'blue', '--idle-timeout-udp', '0s'], '--idle-timeout-udp: 0s is out of range; give 1s to 168h'],
  ])('refuses `trellis %j`, saying what to fix, and changes nothing', async (args, message) => {
    const before = await serviceJson('api');
    const answer = await trellis(...args);
    expect(answer.code).not.toBe(0);
    expect(answer.stderr).toContain(message);
    expect(await serviceJson('api')).toEqual(before);
    expect(JSON.parse(await ok('service', 'ls', '--format', 'json')).map((listed: { name: string }) => listed.name)).toEqual(['api']);
  });

  it('lists READY as ready/total, and inspect shows backends with ready and draining, and each node\'s programming', async () => {
    await ok('sandbox', 'create', 'app1', '--node', 'n1');
    await ok('network', 'connect', 'blue', 'app1', '--service', 'api');
    const table = (await ok('service', 'ls')).split('\n');
    expect(table[0]).toMatch(/^SERVICE ID\s+NAME\s+MODE\s+READY\s+NETWORKS\s+VIPS\s+PORTS$/);
    // No agent runs on n1: the backend is not ready.
    expect(table[1]).toMatch(/\sapi\s+vip\s+0\/1\s+blue\s+10\.234\.0\.\d+\s+\*:8443->443\/tcp,host:5353->53\/udp$/);
    expect(await serviceJson('api')).toMatchObject({
      readyBackends: 0,
      backends: [{ sandboxName: 'app1', ready: false, draining: false }],
      programming: [{ node: 'n1', live: false, programmed: false, programmedRevision: 0 }],
    });
  });

  it('drains a backend on network disconnect, and --force removes it at once', async () => {
    await ok('network', 'disconnect', 'blue', 'app1');
    const sandbox = await inspect<{ endpoints: { draining: boolean; drainEndsAt: string }[] }>('sandbox', 'app1');
    expect(sandbox.endpoints).toEqual([expect.objectContaining({ draining: true, drainEndsAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })]);
    await ok('network', 'disconnect', 'blue', 'app1');
    await ok('network', 'disconnect', '--force', 'blue', 'app1');
    expect((await inspect<{ endpoints: unknown[] }>('sandbox', 'app1')).endpoints).toEqual([]);
  });

  it('removes a backend sandbox at once for the user, and shows it as being removed while its backend drains', async () => {
    await ok('network', 'connect', 'blue', 'app1', '--service', 'api');
    expect(await ok('sandbox', 'rm', 'app1')).toBe('app1\n');
    expect(await inspect('sandbox', 'app1')).toMatchObject({ removing: true, endpoints: [expect.objectContaining({ draining: true })] });
    const refusal = await trellis('service', 'rm', 'api');
    expect(refusal.stderr).toContain('draining until');
    await ok('network', 'disconnect', '--force', 'blue', 'app1');
    expect((await trellis('sandbox', 'inspect', 'app1')).stderr).toContain('NOT_FOUND');
    await ok('service', 'rm', 'api');
  });
});
