import type { RootCaStatus } from '../proto/gen/trellis/v1/control';
import { eventually, labDown, labUp, logSince, logSize, onHostInBackground, trellisJson, trellisOk, type LabState } from './support/lab-driver';
import { ipOf, pingFromSandbox, sandboxNamespace } from './support/overlay';
import { WriteLoad } from './support/write-load';

interface AdminCert {
  serial: string;
}

describe('root CA rotation in a lab of 3 managers and 2 agents', () => {
  let state: LabState;

  beforeAll(() => {
    state = labUp(3, 2);
  });
  const agentLogs = () => ['a1', 'a2'].map((host) => ({ host, marker: logSize(state, host) }));
  afterAll(() => labDown());

  it('moves every node and manager onto a new root under a ping across hosts and a writing CLI: no reply lost, every write acknowledged', async () => {
    trellisOk('a1', ['network', 'create', '--subnet', '10.241.0.0/24', 'rot-net']);
    for (const [sandbox, node] of [['rot-left', 'a1'], ['rot-right', 'a2']]) {
      trellisOk('a1', ['sandbox', 'create', sandbox, '--node', node]);
      trellisOk('a1', ['network', 'connect', 'rot-net', sandbox]);
    }
    const leftIp = ipOf('rot-left', 'rot-net');
    await eventually(() => pingFromSandbox('a2', 'rot-right', leftIp), 'rot-right pings rot-left');
    const before = trellisJson<RootCaStatus>('a1', ['cluster', 'ca', '--format', 'json']);
    const adminBefore = trellisJson<AdminCert>('a1', ['cluster', 'admin-cert', '--format', 'json']);
    expect(before.holders).toHaveLength(5);

    const markers = agentLogs();
    const pings = onHostInBackground('a2', ['ip', 'netns', 'exec', sandboxNamespace('rot-right'), 'ping', '-n', '-q', '-i', '0.01', '-w', '40', leftIp]);
    const load = new WriteLoad('a1', 2, 'rotation');
    let finishedAt = 0;
    try {
      await eventually(() => load.acknowledged().length >= 4, 'writes before the rotation');
      const started = trellisJson<RootCaStatus>('a1', ['cluster', 'ca', '--rotate', '--format', 'json']);
      expect(started.caDigest).not.toBe(before.caDigest);
      await eventually(() => !trellisJson<RootCaStatus>('a1', ['cluster', 'ca', '--format', 'json']).rotating, 'the rotation finishes', 30_000);
      finishedAt = Date.now();
      await eventually(() => load.acknowledgedSince(finishedAt).length >= 4, 'writes after the old root is dropped');
    } finally {
      await load.stop();
    }
    const summary = (await pings).stdout;

    const after = trellisJson<RootCaStatus>('a1', ['cluster', 'ca', '--format', 'json']);
    process.stdout.write(`root CA rotation: ${load.outcomes.length} writes, finished ${finishedAt ? 'while the load ran' : 'never'}; ping: ${summary.trim().split('\n').slice(-2).join(' ')}\n`);
    expect(after.caDigest).not.toBe(before.caDigest);
    expect(after.holders.map((holder) => [holder.kind, holder.onCurrentRoot])).toEqual([
      ['manager', true], ['manager', true], ['manager', true], ['node', true], ['node', true],
    ]);
    expect(load.outcomes.filter((outcome) => !outcome.acknowledged)).toEqual([]);
    const present = new Set(trellisJson<Array<{ name: string }>>('a1', ['network', 'ls', '--format', 'json']).map((network) => network.name));
    expect(load.acknowledged().filter((name) => !present.has(name))).toEqual([]);
    const sent = /(\d+) packets transmitted, (\d+) received/.exec(summary);
    expect(Number(sent?.[1])).toBeGreaterThan(1000);
    expect(sent?.[2]).toBe(sent?.[1]);
    // No agent lost its session: each renewed onto the new root, and its trust followed, over the session it held.
    for (const { host, marker } of markers) {
      const log = logSince(state, host, marker);
      expect(log).toMatch(/"msg":"node certificate renewed"/);
      expect(log).not.toMatch(/session lost/);
    }
    // The CLI's certificate moved onto the new root with the rotation, and is served.
    expect(trellisJson<AdminCert>('a1', ['cluster', 'admin-cert', '--format', 'json']).serial).not.toBe(adminBefore.serial);
    expect(trellisOk('a1', ['node', 'ls'])).toMatch(/a1[\s\S]*a2/);
  }, 180_000);
});
