import { status } from '@grpc/grpc-js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { ManagerSession } from '../agent/session/manager-session';
import { ControlClient, CreateNetworkRequest, ListNetworksRequest } from '../proto/gen/trellis/v1/control';
import { DispatcherClient, RegisterRequest } from '../proto/gen/trellis/v1/dispatcher';
import {
  caDigest,
  CertificateRenewer,
  certificatesOf,
  channelCredentials,
  createKeyAndCsr,
  joinWithToken,
  managerChannelOptions,
  MutableCertificateProvider,
  providerChannelCredentials,
  readTlsDir,
  renewThroughManagers,
  signedBy,
  withChain,
  writeTlsDir,
} from '../proto/runtime/tls';
import { callUnary } from '../proto/runtime/unary-call';
import { MANAGER_TLS_DIR } from './ca';
import { refused } from './api/refused';
import { TestManager } from './test-manager';
import { adminControl as adminControlAt } from './cluster-clients';
import { startManager } from './daemon';

const logger = pino({ level: 'silent' });
const timeoutMs = 10_000;

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A real manager over mTLS and an agent's session and renewer, in this process. */
describe('root CA rotation', () => {
  let cluster: TestManager;
  beforeAll(async () => {
    cluster = await TestManager.start('trellis-root-rotation-');
  });
  afterAll(() => cluster.close());

  it('moves the manager and an agent onto a new root without cutting the session, then trusts only the new root', async () => {
    const address = cluster.manager.address;
    const oldAdmin = readTlsDir(cluster.adminDir, 'admin');
    if (!oldAdmin) throw new Error('no admin certificate');
    const adminKey = await createKeyAndCsr();
    const tokens = await callUnary(cluster.admin(), (c) => c.getJoinTokens, {}, timeoutMs);
    const joined = await joinWithToken([address], tokens.worker);
    const dir = join(cluster.root, 'agent-tls');
    const provider = new MutableCertificateProvider({ ...joined, certChainPem: joined.certPem });
    const renewer: CertificateRenewer = new CertificateRenewer(dir, provider, renewThroughManagers(() => address, provider), logger);
    renewer.start(joined);
    let sessionsOpened = 0;
    let views = 0;
    const session = new ManagerSession({
      managers: [address],
      credentials: providerChannelCredentials(provider),
      nodeName: 'rotor',
      advertiseAddr: '198.18.0.61',
      gatewaySubnet: '',
      reservedPorts: [],
      logger: pino({ level: 'info' }, { write: (line: string) => (sessionsOpened += line.includes('"session opened"') ? 1 : 0) }),
      onView: () => (views += 1),
      onTrust: (bundle) => renewer.trust(bundle),
    });
    session.start();
    try {
      await eventually(async () => views > 0, 'the agent holds its view');
      const before = await callUnary(cluster.admin(), (c) => c.getRootCa, {}, timeoutMs);
      expect(before).toMatchObject({ rotating: false, previousCaDigest: '' });

      // As `trellis cluster ca --rotate` does: the CLI's certificate moves onto the new root in the same call.
      const started = await callUnary(cluster.admin(), (c) => c.rotateRootCa, { adminCsrPem: adminKey.csrPem }, timeoutMs);
      expect(started.caDigest).not.toBe(before.caDigest);
      const newAdmin = started.adminCertificate;
      if (!newAdmin) throw new Error('no admin certificate signed with the rotation');
      writeTlsDir(cluster.adminDir, 'admin', { caPem: newAdmin.caCertificatePem, certPem: withChain(newAdmin.certificatePem, newAdmin.chainPem), keyPem: adminKey.keyPem });
      await eventually(async () => !(await callUnary(cluster.admin(), (c) => c.getRootCa, {}, timeoutMs)).rotating, 'the rotation finishes');

      const after = await callUnary(cluster.admin(), (c) => c.getRootCa, {}, timeoutMs);
      expect(after.caDigest).toBe(started.caDigest);
      expect(after.holders.map((holder) => [holder.kind, holder.name, holder.onCurrentRoot])).toEqual([
        ['manager', '', true],
        ['node', 'rotor', true],
      ]);
      // The agent hears of the end through its session: one root again, the new one, which signed both certificates.
      await eventually(async () => certificatesOf(readTlsDir(dir, 'node')?.caPem ?? '').length === 1, 'the agent trusts one root again');
      for (const tls of [dir, join(cluster.root, 'm1', MANAGER_TLS_DIR)]) {
        const material = readTlsDir(tls, 'node');
        expect(material && caDigest(material.caPem)).toBe(after.caDigest);
        expect(material && signedBy(material.certPem, material.caPem)).toBe(true);
      }
      expect(sessionsOpened).toBe(1);
      // Join tokens pin the root: they changed with it.
      expect((await callUnary(cluster.admin(), (c) => c.getJoinTokens, {}, timeoutMs)).worker).toContain(after.caDigest);

      // New connections: the agent's renewed certificate is served; the old root's admin certificate is not.
      const dispatcher = cluster.track(new DispatcherClient(address, providerChannelCredentials(provider), managerChannelOptions));
      expect((await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'rotor', advertiseAddr: '198.18.0.61' }), timeoutMs)).nodeId).toBe(joined.nodeId);
      const stale = cluster.track(new ControlClient(address, channelCredentials({ ...oldAdmin, caPem: newAdmin.caCertificatePem }), managerChannelOptions));
      expect((await refused(callUnary(stale, (c) => c.listNetworks, ListNetworksRequest.fromPartial({}), timeoutMs))).code).toBe(status.UNAUTHENTICATED);
    } finally {
      session.stop();
      renewer.stop();
    }
    // Its agent gone, the node would hold up the next rotation until removed.
    await callUnary(cluster.admin(), (c) => c.removeNode, { node: 'rotor', force: true }, timeoutMs);
  });

  it('counts a manager that joined before member ids were certificate ids by what its own renewals record', async () => {
    const address = cluster.manager.address;
    const tokens = await callUnary(cluster.admin(), (c) => c.getJoinTokens, {}, timeoutMs);
    const dataDir = join(cluster.root, 'legacy');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'member-id'), 'legacy-member-id\n');
    const legacy = await startManager({ listen: '127.0.0.1:0', dataDir, join: address, joinToken: tokens.manager, logger });
    try {
      expect(legacy.id).toBe('legacy-member-id');
      const adminKey = await createKeyAndCsr();
      const started = await callUnary(cluster.admin(), (c) => c.rotateRootCa, { adminCsrPem: adminKey.csrPem }, timeoutMs);
      const newAdmin = started.adminCertificate;
      if (!newAdmin) throw new Error('no admin certificate signed with the rotation');
      writeTlsDir(cluster.adminDir, 'admin', { caPem: newAdmin.caCertificatePem, certPem: withChain(newAdmin.certificatePem, newAdmin.chainPem), keyPem: adminKey.keyPem });
      await eventually(async () => !(await callUnary(cluster.admin(), (c) => c.getRootCa, {}, timeoutMs)).rotating, 'the rotation finishes');
      const after = await callUnary(cluster.admin(), (c) => c.getRootCa, {}, timeoutMs);
      const holders = after.holders.map((holder) => [holder.id, holder.onCurrentRoot]);
      expect(holders).toEqual([...[cluster.manager.id, legacy.id].sort().map((id) => [id, true])]);
      // Both managers still replicate: a write through the joined one commits.
      const viaLegacy = cluster.track(adminControlAt(legacy.address, cluster.adminDir));
      await callUnary(viaLegacy, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: 'after-rotation', subnet: '10.77.0.0/24' }), timeoutMs);
    } finally {
      await legacy.close();
    }
  });
});
