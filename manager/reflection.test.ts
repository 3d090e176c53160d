import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { startManager, type RunningManager } from './daemon';

const run = promisify(execFile);
const buf = join(__dirname, '..', 'node_modules', '.bin', 'buf');

/** `buf curl` as a user runs it against a manager, with the admin certificate and the managers' TLS name. */
function bufCurl(adminDir: string, args: string[]): Promise<string> {
  const tls = ['--cacert', join(adminDir, 'ca.crt'), '--cert', join(adminDir, 'admin.crt'), '--key', join(adminDir, 'admin.key'), '--servername', 'trellis-manager'];
  return run(buf, ['curl', '--protocol', 'grpc', ...tls, ...args], { timeout: 30_000 }).then((result) => result.stdout);
}

describe('gRPC reflection, as buf curl sees it', () => {
  let root: string;
  let manager: RunningManager;
  const adminDir = () => join(root, 'admin');
  const url = (path = '') => `https://${manager.address}${path}`;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-reflection-'));
    manager = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm1'), adminDir: adminDir(), logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await manager.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists every method of every service', async () => {
    const methods = (await bufCurl(adminDir(), ['--list-methods', url()])).trim().split('\n');
    expect(methods).toEqual(
      expect.arrayContaining([
        'trellis.v1.Control/CreateNetwork',
        'trellis.v1.Control/GetJoinTokens',
        'trellis.v1.Dispatcher/Session',
        'trellis.v1.CertificateAuthority/IssueNodeCertificate',
        'grpc.health.v1.Health/Check',
      ]),
    );
  });

  it('calls methods whose messages hold maps and reserved fields, and the health service', async () => {
    const created = JSON.parse(await bufCurl(adminDir(), ['--data', '{"name":"blue","subnet":"10.9.0.0/24","labels":{"team":"net"}}', url('/trellis.v1.Control/CreateNetwork')])) as { labels: Record<string, string> };
    expect(created.labels).toEqual({ team: 'net' });
    expect(JSON.parse(await bufCurl(adminDir(), [url('/grpc.health.v1.Health/Check')]))).toEqual({ status: 'SERVING' });
  });
});
