import { agentsNotReady, managersNotVoting, waitForAgentsReady } from './readiness';

const node = (name: string, status: string) => ({ id: `id-${name}`, name, advertiseAddr: '198.18.0.11', status });
const managers = (...roles: string[]) => JSON.stringify({ managers: roles.map((role, i) => ({ id: `m${i}`, role })), leaderId: 'm0', term: 2 });
const oneVoter = { managerCount: 1, listManagers: async () => managers('voter') };

describe('managersNotVoting', () => {
  it('says how many managers vote while a joiner is still a learner', () => {
    expect(managersNotVoting(managers('voter', 'learner', 'voter'), 3)).toBe('2 of 3 managers vote');
  });

  it('is satisfied once every manager votes', () => {
    expect(managersNotVoting(managers('voter', 'voter', 'voter'), 3)).toBeUndefined();
  });

  it('rejects an answer that is not manager ls JSON', () => {
    expect(() => managersNotVoting('[]', 1)).toThrow('manager ls did not print');
  });
});

describe('agentsNotReady', () => {
  it('lists agents missing from the answer or not ready', () => {
    const answer = JSON.stringify([node('a1', 'NODE_STATUS_READY'), node('a2', 'NODE_STATUS_DOWN')]);
    expect(agentsNotReady(answer, ['a1', 'a2', 'a3'])).toEqual(['a2', 'a3']);
  });

  it('is satisfied when every agent is ready', () => {
    const answer = JSON.stringify([node('a1', 'NODE_STATUS_READY'), node('a2', 'NODE_STATUS_READY')]);
    expect(agentsNotReady(answer, ['a1', 'a2'])).toEqual([]);
  });

  it('rejects an answer that is not a list of nodes', () => {
    expect(() => agentsNotReady('{"nodes": []}', ['a1'])).toThrow('not print a JSON array');
  });
});

describe('waitForAgentsReady', () => {
  it('keeps asking until every agent is ready', async () => {
    const answers = [undefined, [node('a1', 'NODE_STATUS_DOWN')], [node('a1', 'NODE_STATUS_READY')]];
    let asked = 0;
    await waitForAgentsReady({
      agentNames: ['a1'],
      ...oneVoter,
      timeoutMs: 30_000,
      listNodes: async () => {
        const nodes = answers[asked++];
        if (!nodes) throw new Error('connection refused');
        return JSON.stringify(nodes);
      },
      fatalProblem: () => undefined,
    });
    expect(asked).toBe(3);
  });

  it('says which agents were not ready when time runs out', async () => {
    await expect(
      waitForAgentsReady({
        agentNames: ['a1', 'a2'],
        ...oneVoter,
        timeoutMs: 0,
        listNodes: async () => JSON.stringify([node('a1', 'NODE_STATUS_READY')]),
        fatalProblem: () => undefined,
      }),
    ).rejects.toThrow('(not ready: a2)');
  });

  it('waits for a joining manager to become a voter', async () => {
    await expect(
      waitForAgentsReady({
        agentNames: [],
        managerCount: 2,
        listManagers: async () => managers('voter', 'learner'),
        timeoutMs: 0,
        listNodes: async () => '[]',
        fatalProblem: () => undefined,
      }),
    ).rejects.toThrow('(1 of 2 managers vote)');
  });

  it('stops at once when a daemon died', async () => {
    await expect(
      waitForAgentsReady({
        agentNames: ['a1'],
        ...oneVoter,
        timeoutMs: 30_000,
        listNodes: async () => '[]',
        fatalProblem: () => 'the daemon of a1 (pid 7) exited',
      }),
    ).rejects.toThrow('the daemon of a1 (pid 7) exited');
  });
});
