import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { createPrivateKey } from 'node:crypto';
import { CreateNetworkRequest } from '../proto/gen/trellis/v1/control';
import { callUnary } from '../proto/runtime/unary-call';
import { initCluster } from './ca';
import { adminControl } from './cluster-clients';
import { memberId } from './cluster/member-id';
import { bootstrapNewCluster } from './cluster/recover';
import { startManager, type RunningManager } from './daemon';
import { DiskStorage } from './raft/storage';
import { ClusterKey } from './secrets/cluster-key';
import { readKeyFile } from './secrets/key-file';
import { Store, type StoreSnapshot } from './store';

const timeoutMs = 10_000;

/** A logger whose lines the test reads back. */
function capturingLogger(): { logger: Logger; lines: Array<{ msg: string; path?: string }> } {
  const lines: Array<{ msg: string; path?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; path?: string }) });
  return { logger, lines };
}

/** Every path under `dir` (itself included), with its permission bits. */
function modes(dir: string): Map<string, number> {
  const found = new Map<string, number>([[dir, statSync(dir).mode & 0o777]]);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    found.set(path, statSync(path).mode & 0o777);
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe("a manager's data dir at rest (real disk, real gRPC)", () => {
  let root: string;
  const dataDir = () => join(root, 'm1');
  const adminDir = () => join(root, 'admin');

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'trellis-at-rest-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function writeSome(manager: RunningManager, names: string[]): Promise<void> {
    const control = adminControl(manager.address, adminDir());
    try {
      for (const [index, name] of names.entries()) {
        await callUnary(control, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name, subnet: `10.77.${index}.0/24` }), timeoutMs);
      }
      // A rotation puts a join secret into a log entry, not only the snapshot.
      await callUnary(control, (c) => c.rotateJoinToken, { role: 'worker' }, timeoutMs);
    } finally {
      control.close();
    }
  }

  it('writes its WAL, snapshots, keys and certificates 0600 in 0700 directories, and the admin dir likewise', async () => {
    await initCluster({ dataDir: dataDir(), adminDir: adminDir() });
    const manager = await startManager({ listen: '127.0.0.1:0', dataDir: dataDir(), logger: pino({ level: 'silent' }), snapshotEvery: 3 });
    try {
      await writeSome(manager, ['n1', 'n2', 'n3', 'n4', 'n5']);
    } finally {
      await manager.close();
    }
    const names = filesUnder(dataDir()).map((path) => path.slice(dataDir().length + 1));
    expect(names).toEqual(expect.arrayContaining(['data-key.json', 'member-id', 'tls/node.key', 'tls/node.crt', 'tls/ca.crt']));
    expect(names.some((name) => /^raft\/wal-[0-9a-f]{16}\.log$/.test(name))).toBe(true);
    expect(names.some((name) => /^raft\/snapshot-[0-9a-f]{16}\.snap$/.test(name))).toBe(true);
    for (const dir of [dataDir(), adminDir()]) {
      for (const [path, mode] of modes(dir)) expect([path, mode.toString(8)]).toEqual([path, statSync(path).isDirectory() ? '700' : '600']);
    }
  });

  it('keeps the CA key and the join secrets out of the WAL and snapshots: only ciphertext', async () => {
    const manager = await startManager({ listen: '127.0.0.1:0', dataDir: dataDir(), logger: pino({ level: 'silent' }), snapshotEvery: 3 });
    let secrets;
    let tokens;
    try {
      const keyFile = await readKeyFile(dataDir());
      const sealed = manager.cluster.store.security();
      if (!keyFile || !sealed) throw new Error('no data key file or no security record');
      secrets = new ClusterKey(keyFile.open()).openSecrets(sealed);
      const control = adminControl(manager.address, adminDir());
      tokens = await callUnary(control, (c) => c.getJoinTokens, {}, timeoutMs);
      control.close();
    } finally {
      await manager.close();
    }
    const caKeyDer = createPrivateKey(secrets.caKeyPem).export({ type: 'pkcs8', format: 'der' });
    const pemBody = secrets.caKeyPem.split('\n').filter((line) => line && !line.startsWith('-----')).join('');
    const raftFiles = filesUnder(join(dataDir(), 'raft'));
    expect(raftFiles.length).toBeGreaterThan(1);
    for (const path of [...raftFiles, join(dataDir(), 'data-key.json')]) {
      const bytes = readFileSync(path);
      const text = bytes.toString('latin1');
      expect([path, text.includes('PRIVATE KEY')]).toEqual([path, false]);
      expect([path, text.includes(pemBody.slice(0, 64))]).toEqual([path, false]);
      expect([path, bytes.includes(caKeyDer)]).toEqual([path, false]);
      for (const role of ['worker', 'manager'] as const) {
        expect([path, text.includes(secrets.joinSecrets[role])]).toEqual([path, false]);
        expect([path, text.includes(tokens[role].split('-').at(-1) ?? '')]).toEqual([path, false]);
      }
    }
  });

  it('puts wrong modes back at start, warning about each path it fixed', async () => {
    const wal = filesUnder(join(dataDir(), 'raft'))[0] ?? '';
    const loosened = [dataDir(), join(dataDir(), 'raft'), wal, join(dataDir(), 'tls', 'node.key'), join(dataDir(), 'data-key.json')];
    for (const path of loosened) chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    const { logger, lines } = capturingLogger();
    const manager = await startManager({ listen: '127.0.0.1:0', dataDir: dataDir(), logger });
    await manager.close();
    for (const path of loosened) expect([path, statSync(path).mode & 0o777]).toEqual([path, statSync(path).isDirectory() ? 0o700 : 0o600]);
    const warned = lines.filter((line) => /readable by other users/.test(line.msg)).map((line) => line.path);
    expect(warned.sort()).toEqual([...loosened].sort());
    for (const path of loosened) {
      const was = statSync(path).isDirectory() ? '0755' : '0644';
      expect(lines.some((line) => line.path === path && line.msg === `${path} was readable by other users (mode ${was}); set to 0${statSync(path).isDirectory() ? '700' : '600'}`)).toBe(true);
    }
  });

  it('never logs the join tokens when it creates a cluster itself', async () => {
    const { logger, lines } = capturingLogger();
    const own = join(root, 'self-made');
    const manager = await startManager({ listen: '127.0.0.1:0', dataDir: own, adminDir: join(root, 'self-admin'), logger });
    try {
      const control = adminControl(manager.address, join(root, 'self-admin'));
      const tokens = await callUnary(control, (c) => c.getJoinTokens, {}, timeoutMs);
      control.close();
      const logged = lines.map((line) => JSON.stringify(line)).join('\n');
      expect(logged).toMatch(/created a new cluster/);
      expect(logged).not.toContain(tokens.worker.split('-').at(-1));
      expect(logged).not.toContain(tokens.manager.split('-').at(-1));
    } finally {
      await manager.close();
    }
  });

  it('refuses, saying why, a data dir whose store holds the CA key in plaintext (a cluster made before encryption)', async () => {
    const legacyDir = join(root, 'legacy');
    await initCluster({ dataDir: legacyDir, adminDir: join(root, 'legacy-admin') });
    await rm(join(legacyDir, 'cluster-init.json'));
    const storage = await DiskStorage.open(join(legacyDir, 'raft'));
    const legacy = {
      revision: 1,
      security: { clusterId: 'c1', caCertPem: 'CERT', caKeyPem: '-----BEGIN PRIVATE KEY-----', joinSecrets: { worker: 'w', manager: 'm' }, certValiditySeconds: 60 },
      nodes: [],
      networks: [],
      sandboxes: [],
      endpoints: [],
      services: [],
      defaultAddressPools: [],
    };
    await bootstrapNewCluster(storage, await memberId(legacyDir), '127.0.0.1:1', Store.restore(legacy as unknown as StoreSnapshot));
    await storage.close();
    await expect(startManager({ listen: '127.0.0.1:0', dataDir: legacyDir, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      /created before its secrets were encrypted at rest: its CA key is in plaintext/,
    );
  });
});
