import { join } from 'node:path';
import { MANAGER_TLS_DIR } from '../manager/ca/cluster-init';
import { findRepoRoot } from './lab/context';
import { dataDir, MANAGER_PORT } from './lab/plan';
import type { ProposeOutcome } from './support/raft-propose';
import { eventually, labDown, labUp, leaderHost, logSince, logSize, mustSucceed, onHost, trellis, trellisOk, type LabState } from './support/lab-driver';

/** The compiled caller of Raft/Propose, run inside a lab host. */
const proposeScript = join(findRepoRoot(__dirname), 'dist', 'e2e', 'support', 'raft-propose.js');

/** Commands a manager certificate could send that no store can apply, and the field each refusal must name. */
const poisons: { payload: string; field: string }[] = [
  { payload: JSON.stringify({ type: 'dropEverything' }), field: 'type' },
  { payload: JSON.stringify({ type: 'createNetwork', id: 'p', name: 'poison', driver: '', ipam: [{ subnet: 7 }] }), field: 'ipam' },
  { payload: JSON.stringify({ type: 'updateNode', node: 'a1', labelRm: 'toString' }), field: 'label_rm' },
  { payload: 'not JSON at all', field: 'command' },
];

describe('a poisoned command over the real Raft.Propose RPC (3 managers, 1 agent)', () => {
  let state: LabState;

  beforeAll(() => {
    state = labUp(3, 1);
  });
  afterAll(() => labDown());

  const managers = () => state.hosts.filter((host) => host.role === 'manager');
  const address = (host: string) => `${state.hosts.find((h) => h.name === host)?.address}:${MANAGER_PORT}`;

  /** Sends `payload` as the command of a Propose call to `target`, from inside its host, with m1's manager certificate. */
  function propose(target: string, payload: string): ProposeOutcome {
    const tlsDir = join(dataDir(join(state.labDir, 'm1')), MANAGER_TLS_DIR);
    const answer = mustSucceed(`propose to ${target}`, onHost(target, [process.execPath, proposeScript, address(target), tlsDir, payload]));
    return JSON.parse(answer.stdout) as ProposeOutcome;
  }

  it('refuses it with INVALID_ARGUMENT on the leader and on a follower; every manager stays up and the cluster takes writes', async () => {
    const leader = leaderHost(state);
    const follower = managers().find((host) => host.name !== leader)?.name ?? '';
    const logMarks = new Map(managers().map((host) => [host.name, logSize(state, host.name)]));

    for (const target of [leader, follower]) {
      for (const { payload, field } of poisons) {
        expect({ target, payload, outcome: propose(target, payload) }).toEqual({
          target,
          payload,
          outcome: { ok: false, code: 'INVALID_ARGUMENT', field, details: expect.stringContaining(`${field}`) },
        });
      }
    }

    // Every manager still answers, and a write through the CLI reaches each of them.
    trellisOk('a1', ['network', 'create', 'after-poison', '--subnet', '10.232.0.0/24']);
    for (const host of managers()) {
      await eventually(() => {
        const listed = trellis('a1', ['--manager', address(host.name), 'network', 'ls', '--format', 'json']);
        return listed.code === 0 && listed.stdout.includes('"after-poison"');
      }, `${host.name} serves the write made after the poison`);
      expect(logSince(state, host.name, logMarks.get(host.name) ?? 0)).not.toContain('raft storage failed');
    }
  });
});
