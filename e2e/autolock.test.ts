import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterKey } from '../manager/secrets/cluster-key';
import { readKeyFile } from '../manager/secrets/key-file';
import type { ClusterSecurityRecord } from '../manager/store';
import { dataDir } from './lab/plan';
import { eventually, lab, labDown, labHost, labUp, logSince, logSize, onHost, trellis, trellisJson, trellisOk, type LabState } from './support/lab-driver';

interface ManagerRow {
  id: string;
  address: string;
  role: string;
  leader: boolean;
  matchIndex: number;
}
interface ManagerList {
  managers: ManagerRow[];
  leaderId: string;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** The secret part of a join token (TRLS-1-<digest>-<secret>). */
const secretOf = (token: string): string => token.trim().split('-').at(-1) ?? '';

describe('secrets at rest in a lab cluster (3 managers, 1 agent)', () => {
  let state: LabState;
  let scratch: string;
  let unlockKey = '';
  const m2 = () => labHost(state, 'm2');
  const m2Address = () => `${m2().address}:4240`;
  const hostData = (name: string) => dataDir(join(state.labDir, name));

  beforeAll(() => {
    state = labUp(3, 1);
    scratch = mkdtempSync(join(tmpdir(), 'trellis-autolock-lab-'));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    labDown();
  });

  it("carries no join token in any daemon's log, argv or the lab's state", () => {
    const secrets = ['worker', 'manager'].map((role) => secretOf(trellisOk('a1', ['cluster', 'join-token', role, '--quiet'])));
    expect(secrets.every((secret) => /^[a-z2-7]{26}$/.test(secret))).toBe(true);
    const places = [
      ...state.hosts.map((host) => ({ what: `${host.name} log`, text: readFileSync(host.log, 'utf8') })),
      ...state.hosts.map((host) => ({ what: `${host.name} argv`, text: host.pid === null ? '' : readFileSync(`/proc/${host.pid}/cmdline`, 'utf8') })),
      { what: 'lab state', text: readFileSync(join(state.labDir, 'state.json'), 'utf8') },
    ];
    for (const { what, text } of places) for (const secret of secrets) expect([what, text.includes(secret)]).toEqual([what, false]);
    // The joining hosts did read a token: from the file their argv names.
    expect(m2().command).toContain('--join-token-file');
  });

  it("keeps every manager's data dir and the agent's state dir its owner's: directories 0700, files 0600", () => {
    for (const host of state.hosts) {
      const root = hostData(host.name);
      const entries = [root, ...readdirSync(root, { recursive: true }).map((name) => join(root, String(name)))];
      expect(entries.length).toBeGreaterThan(3);
      for (const path of entries) {
        const stat = statSync(path);
        expect([path, (stat.mode & 0o777).toString(8)]).toEqual([path, stat.isDirectory() ? '700' : '600']);
      }
    }
  });

  it('turns autolock on and prints the unlock key', async () => {
    const marker = logSize(state, 'm2');
    const answer = trellisOk('a1', ['cluster', 'update', '--autolock', 'true']);
    unlockKey = /TRLSKEY-1-[A-Z2-7]{52}/.exec(answer)?.[0] ?? '';
    expect(unlockKey).not.toBe('');
    expect(trellisOk('a1', ['cluster', 'unlock-key', '--quiet'])).toBe(unlockKey);
    // m2 rewraps its own key file when it applies the change; only then does a restart lock it.
    await eventually(() => logSince(state, 'm2', marker).includes('autolock on: data key file rewrapped'), 'm2 rewraps its data key file');
  });

  it('a manager restarted without the key refuses to serve, and says why in its answer and its log', async () => {
    lab(['stop', 'm2']);
    const marker = logSize(state, 'm2');
    lab(['start', 'm2']);
    await eventually(() => {
      const answer = trellis('a1', ['--manager', m2Address(), 'network', 'ls']);
      return answer.code !== 0 && answer.stderr.includes('manager is locked: run `trellis cluster unlock` (FAILED_PRECONDITION)');
    }, 'm2 answers that it is locked');
    expect(logSince(state, 'm2', marker)).toMatch(/this manager is locked \(autolock is on/);
    expect(logSince(state, 'm2', marker)).not.toMatch(/manager serving/);
    // The others go on without it.
    expect(trellis('a1', ['--manager', `${labHost(state, 'm1').address}:4240`, 'network', 'create', 'while-m2-locked']).code).toBe(0);
  });

  it('refuses a wrong key; with the right one (from stdin) the manager rejoins: voting, caught up, taking writes', async () => {
    const wrongFile = join(scratch, 'wrong-key');
    writeFileSync(wrongFile, `TRLSKEY-1-${'A'.repeat(52)}\n`, { mode: 0o600 });
    const wrong = trellis('a1', ['--manager', m2Address(), 'cluster', 'unlock', '--key-file', wrongFile]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/does not open this manager.*\(INVALID_ARGUMENT\)/);

    const keyFile = join(scratch, 'unlock-key');
    writeFileSync(keyFile, `${unlockKey}\n`, { mode: 0o600 });
    const unlocked = onHost('a1', ['sh', '-c', `trellis --manager ${m2Address()} cluster unlock < ${keyFile}`]);
    expect([unlocked.code, unlocked.stdout.trim()]).toEqual([0, `${m2Address()}: unlocked`]);

    await eventually(() => {
      const seen = trellis('a1', ['--manager', m2Address(), 'network', 'ls', '--format', 'json']);
      return seen.code === 0 && seen.stdout.includes('"while-m2-locked"');
    }, 'm2 serves, with the write made while it was locked');
    expect(trellis('a1', ['--manager', m2Address(), 'network', 'create', 'through-m2']).code).toBe(0);
    await eventually(() => {
      const list = trellisJson<ManagerList>('a1', ['manager', 'ls', '--format', 'json']);
      const row = list.managers.find((m) => m.address === m2Address());
      const leader = list.managers.find((m) => m.leader);
      return row?.role === 'voter' && leader !== undefined && (row.leader || row.matchIndex >= leader.matchIndex);
    }, 'm2 votes and has caught up with the leader');
  });

  it("holds the CA key in no manager's data dir in plaintext (not in the WAL, snapshots or key files), nor in any log", async () => {
    const m1Data = hostData('m1');
    const keyFile = await readKeyFile(m1Data);
    if (!keyFile) throw new Error('m1 has no data key file');
    const clusterKey = new ClusterKey(keyFile.open(unlockKey));
    // The sealed record as the raft files hold it; opened here with the key only to know what to look for.
    const raftText = filesUnder(join(m1Data, 'raft')).map((path) => readFileSync(path, 'latin1')).join('\n');
    const found = /"security":(\{"clusterId":"[^"]+","caCertPem":"(?:[^"\\]|\\.)*","caKeySealed":"[^"]+","joinSecretsSealed":\{[^}]*\}[^}]*\})/.exec(raftText);
    if (!found) throw new Error('no sealed security record in the raft files of m1');
    const caKeyPem = clusterKey.openSecrets(JSON.parse(found[1] ?? '') as ClusterSecurityRecord).caKeyPem;
    expect(caKeyPem).toMatch(/-----BEGIN PRIVATE KEY-----/);
    const key = createPrivateKey(caKeyPem);
    const der = key.export({ type: 'pkcs8', format: 'der' });
    const scalar = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
    const pemBody = caKeyPem.split('\n').filter((line) => line && !line.startsWith('-----')).join('');
    expect(scalar.length).toBeGreaterThanOrEqual(32);
    // Nor in any daemon's log, with the unlock key.
    for (const host of state.hosts) {
      const log = readFileSync(host.log, 'utf8');
      for (const secret of [pemBody.slice(0, 48), 'PRIVATE KEY', unlockKey]) expect([host.log, secret, log.includes(secret)]).toEqual([host.log, secret, false]);
    }
    for (const host of state.hosts.filter((h) => h.role === 'manager')) {
      // The node's own TLS key is a private key in PEM by design (it is not the CA's); everything else is searched.
      for (const path of filesUnder(hostData(host.name)).filter((p) => !p.endsWith('/tls/node.key'))) {
        const bytes = readFileSync(path);
        const text = bytes.toString('latin1');
        expect([path, text.includes('PRIVATE KEY')]).toEqual([path, false]);
        expect([path, text.includes(pemBody.slice(0, 48))]).toEqual([path, false]);
        expect([path, bytes.includes(der)]).toEqual([path, false]);
        expect([path, bytes.includes(scalar)]).toEqual([path, false]);
      }
    }
  });
});
