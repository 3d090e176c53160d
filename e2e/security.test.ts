import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminDir } from './lab/plan';
import { labDown, labUp, onHost, trellis, trellisJson, type LabState } from './support/lab-driver';

interface NodeRow {
  name: string;
}

describe('a lab cluster refuses callers without the right credentials (1 manager, 1 agent)', () => {
  let state: LabState;
  let scratch: string;

  beforeAll(() => {
    state = labUp(1, 1);
    scratch = mkdtempSync(join(tmpdir(), 'trellis-security-lab-'));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    labDown();
  });

  it('serves the CLI holding the admin certificate', () => {
    expect(trellis('a1', ['network', 'ls']).code).toBe(0);
  });

  it('refuses a CLI that has the CA but no certificate of its own', () => {
    const caOnly = join(scratch, 'ca-only');
    mkdirSync(caOnly);
    copyFileSync(join(adminDir(state.labDir), 'ca.crt'), join(caOnly, 'ca.crt'));
    const answer = trellis('a1', ['--tls-dir', caOnly, 'network', 'ls']);
    expect(answer.code).not.toBe(0);
    expect(answer.stderr).toMatch(/client certificate issued by the cluster CA.*\(UNAUTHENTICATED\)/);
  });

  it('refuses a CLI whose admin certificate comes from another cluster', () => {
    const other = join(scratch, 'other-admin');
    expect(trellis('a1', ['cluster', 'init', '--data-dir', join(scratch, 'other-data'), '--admin-dir', other]).code).toBe(0);
    // The lab's CA, so the CLI trusts the managers; the other cluster's certificate, which they must not trust.
    const mixed = join(scratch, 'mixed');
    mkdirSync(mixed);
    copyFileSync(join(adminDir(state.labDir), 'ca.crt'), join(mixed, 'ca.crt'));
    for (const file of ['admin.crt', 'admin.key']) copyFileSync(join(other, file), join(mixed, file));
    const answer = trellis('a1', ['--tls-dir', mixed, 'network', 'ls']);
    expect(answer.code).not.toBe(0);
    expect(answer.stderr).toMatch(/\(UNAUTHENTICATED\)/);
  });

  it('refuses an agent with a wrong join token: it exits saying so, and no node joins', () => {
    const { code, stdout } = trellis('a1', ['cluster', 'join-token', 'worker', '--quiet']);
    expect(code).toBe(0);
    const forged = stdout.trim().replace(/-[a-z2-7]{26}$/, `-${'b'.repeat(26)}`);
    const agent = onHost('a1', [
      'trellis', 'agent', '--join-token', forged, '--state-dir', join(scratch, 'intruder'),
      '--node', 'intruder', '--advertise-addr', state.hosts.find((h) => h.name === 'a1')?.address ?? '',
    ]);
    expect(agent.code).not.toBe(0);
    expect(agent.stderr).toMatch(/join_token: join token: not valid for this cluster/);
    expect(trellisJson<NodeRow[]>('a1', ['node', 'ls', '--format', 'json']).map((n) => n.name)).toEqual(['a1']);
  });
});
