import { statSync } from 'node:fs';
import { join } from 'node:path';
import { adminDir } from './lab/plan';
import { eventually, labDown, labUp, logSince, logSize, trellisJson, trellisOk, type LabState } from './support/lab-driver';

interface NodeRow {
  name: string;
  status: string;
}

const revoked = /is revoked \(removed by trellis node rm\)/g;

describe('certificates in a lab cluster (1 manager, 2 agents)', () => {
  let state: LabState;

  beforeAll(() => {
    state = labUp(1, 2);
  });
  afterAll(() => labDown());

  it("`node rm --force` of a running agent cuts its session, and its certificate registers it under no name again", async () => {
    const marker = logSize(state, 'a2');
    trellisOk('a1', ['node', 'rm', '--force', 'a2']);
    // The agent keeps retrying (it does not know why it is refused, nor that it will stay refused):
    // its session cut, then at least two attempts to register again, each refused with the reason.
    await eventually(() => (logSince(state, 'a2', marker).match(revoked) ?? []).length >= 3, "a2's agent refused three times");
    const log = logSince(state, 'a2', marker);
    expect(log).toMatch(/"msg":"manager session lost; retrying"/);
    expect(log).toMatch(/UNAUTHENTICATED/);
    const nodes = trellisJson<NodeRow[]>('a1', ['node', 'ls', '--format', 'json']);
    expect(nodes.map((node) => [node.name, node.status])).toEqual([['a1', 'NODE_STATUS_READY']]);
  });

  it("renews the CLI's admin certificate: a new key and serial, its files readable by their owner only, and the CLI still served", () => {
    interface Shown { serial: string; notAfter: string; renewed: boolean }
    const before = trellisJson<Shown>('a1', ['cluster', 'admin-cert', '--format', 'json']);
    const after = trellisJson<Shown>('a1', ['cluster', 'admin-cert', '--renew', '--format', 'json']);
    expect(after.renewed).toBe(true);
    expect(after.serial).not.toBe(before.serial);
    expect(trellisJson<Shown>('a1', ['cluster', 'admin-cert', '--format', 'json']).serial).toBe(after.serial);
    for (const file of ['admin.key', 'admin.crt', 'ca.crt']) expect(statSync(join(adminDir(state.labDir), file)).mode & 0o777).toBe(0o600);
    expect(trellisOk('a1', ['network', 'ls'])).toMatch(/NAME/);
  });
});
