import { None } from '../core';
import type { Entry, HardState, Message, MessageType, NodeId, Role, Status } from '../core';
import { FakeDisk } from './fake-disk';
import { InvariantChecker } from './invariants';
import type { CheckerOptions } from './invariants';

const conf = { voters: ['n1', 'n2', 'n3'], learners: [] };

function entry(index: number, term: number, text = `e${index}.${term}`): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(text) };
}

function status(id: NodeId, role: Role, term: number, commit = 0): Status {
  return {
    id,
    hardState: { term, vote: None, commit },
    softState: { role, leader: role === 'leader' ? id : None },
    applied: 0,
    lastIndex: 0,
    confState: conf,
  };
}

function message(type: MessageType, from: NodeId, to: NodeId, term: number, fields: Partial<Message> = {}): Message {
  return { type, from, to, term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: '', ...fields };
}

/** Three fake disks and a checker watching them. */
function world(options?: CheckerOptions): {
  checker: InvariantChecker;
  persist: (node: NodeId, hardState: HardState | undefined, entries?: Entry[]) => void;
} {
  const disks = new Map(conf.voters.map((id) => [id, new FakeDisk(conf)]));
  const disk = (id: NodeId): FakeDisk => {
    const found = disks.get(id);
    if (!found) throw new Error(id);
    return found;
  };
  const checker = new InvariantChecker((id) => disk(id).durable(), options);
  const persist = (node: NodeId, hardState: HardState | undefined, entries: Entry[] = []): void => {
    disk(node).write({ hardState, entries, snapshot: undefined });
    const written = disk(node).sync();
    if (written) checker.observeDurable(node, written);
  };
  return { checker, persist };
}

describe('InvariantChecker', () => {
  it('accepts a plain election and replication', () => {
    const { checker, persist } = world();
    persist('n1', { term: 1, vote: 'n1', commit: 0 });
    checker.observeSend(message('vote', 'n1', 'n2', 1));
    persist('n2', { term: 1, vote: 'n1', commit: 0 });
    checker.observeSend(message('voteResp', 'n2', 'n1', 1));
    checker.observeStatus(status('n1', 'leader', 1), 1);
    persist('n1', undefined, [entry(1, 1)]);
    checker.observeSend(message('app', 'n1', 'n2', 1, { entries: [entry(1, 1)] }));
    persist('n2', undefined, [entry(1, 1)]);
    checker.observeSend(message('appResp', 'n2', 'n1', 1, { index: 1 }));
    checker.observeStatus(status('n1', 'leader', 1, 1), 1);
    checker.observeApply('n1', entry(1, 1));
    checker.observeApply('n2', entry(1, 1));
  });

  it('rejects two leaders in one term, even at different times', () => {
    const { checker } = world();
    checker.observeStatus(status('n1', 'leader', 2), 1);
    checker.observeStatus(status('n1', 'follower', 3), 1);
    expect(() => checker.observeStatus(status('n2', 'leader', 2), 1)).toThrow(/election safety/);
  });

  it('rejects a term going back within one life, and below the durable term after a restart', () => {
    const { checker, persist } = world();
    checker.observeStatus(status('n1', 'follower', 3), 1);
    expect(() => checker.observeStatus(status('n1', 'follower', 2), 1)).toThrow(/term and commit never decrease/);
    persist('n2', { term: 4, vote: None, commit: 0 });
    expect(() => checker.observeStatus(status('n2', 'follower', 3), 2)).toThrow(/below its durable term/);
  });

  it('rejects a second, different durable vote in one term (a vote forgotten across a crash)', () => {
    const { persist } = world();
    persist('n1', { term: 2, vote: 'n2', commit: 0 });
    persist('n1', { term: 2, vote: None, commit: 0 });
    expect(() => persist('n1', { term: 2, vote: 'n3', commit: 0 })).toThrow(/one vote per term/);
  });

  it('rejects a durable commit beyond the durable log', () => {
    const { persist } = world();
    expect(() => persist('n1', { term: 1, vote: None, commit: 1 })).toThrow(/commit is durable/);
  });

  it('rejects two logs holding different entries under one index and term', () => {
    const { persist } = world();
    persist('n1', undefined, [entry(1, 1, 'x')]);
    expect(() => persist('n2', undefined, [entry(1, 1, 'y')])).toThrow(/log matching/);
  });

  it('rejects two logs agreeing on an entry but not on the entry before it', () => {
    const { persist } = world();
    persist('n1', undefined, [entry(1, 1), entry(2, 2)]);
    expect(() => persist('n2', undefined, [entry(1, 2, 'other'), entry(2, 2)])).toThrow(/log matching/);
  });

  it('rejects two nodes applying different entries at one index', () => {
    const { checker } = world();
    checker.observeApply('n1', entry(1, 1, 'x'));
    expect(() => checker.observeApply('n2', entry(1, 1, 'y'))).toThrow(/state machine safety/);
  });

  it('rejects a later-term leader whose log lacks a committed entry', () => {
    const { checker, persist } = world();
    persist('n1', undefined, [entry(1, 1)]);
    persist('n3', undefined, [entry(1, 1)]);
    checker.observeStatus(status('n1', 'leader', 1, 1), 1);
    checker.observeApply('n1', entry(1, 1));
    persist('n2', { term: 2, vote: 'n2', commit: 0 }, [entry(1, 2)]);
    expect(() => checker.observeStatus(status('n2', 'leader', 2), 1)).toThrow(/leader completeness/);
  });

  it('rejects messages whose term, vote or acknowledged entries are not yet durable', () => {
    const { checker, persist } = world();
    expect(() => checker.observeSend(message('vote', 'n1', 'n2', 1))).toThrow(/durable term is only 0/);
    persist('n1', { term: 1, vote: None, commit: 0 });
    expect(() => checker.observeSend(message('vote', 'n1', 'n2', 1))).toThrow(/not itself/);
    expect(() => checker.observeSend(message('voteResp', 'n1', 'n3', 1))).toThrow(/grants a vote/);
    expect(() => checker.observeSend(message('appResp', 'n1', 'n3', 1, { index: 1 }))).toThrow(/acknowledges index 1/);
  });

  it('lets pre-votes, which promise nothing, and rejections through', () => {
    const { checker } = world();
    checker.observeSend(message('preVote', 'n1', 'n2', 1));
    checker.observeSend(message('preVoteResp', 'n2', 'n1', 1));
    checker.observeSend(message('voteResp', 'n2', 'n1', 0, { reject: true }));
  });

  it('lets a leader send entries ahead of its own disk, but not with a term that is not durable', () => {
    const { checker, persist } = world();
    expect(() => checker.observeSend(message('app', 'n1', 'n2', 1, { entries: [entry(1, 1)] }))).toThrow(/durable term is only 0/);
    persist('n1', { term: 1, vote: 'n1', commit: 0 });
    checker.observeSend(message('app', 'n1', 'n2', 1, { entries: [entry(1, 1), entry(2, 1)] }));
    checker.observeSend(message('heartbeat', 'n1', 'n3', 1, { commit: 0 }));
  });

  it('rejects a leader sending entries ahead of its disk when the driver is meant to be strict', () => {
    const { checker, persist } = world({ leaderMaySendUnsyncedEntries: false });
    persist('n1', { term: 1, vote: 'n1', commit: 0 }, [entry(1, 1)]);
    checker.observeSend(message('app', 'n1', 'n2', 1, { entries: [entry(1, 1)] }));
    expect(() => checker.observeSend(message('app', 'n1', 'n2', 1, { index: 1, logTerm: 1, entries: [entry(2, 1)] }))).toThrow(
      /carries index 2 but the durable log ends at 1/,
    );
  });

  it('rejects a leader whose entries contradict its own durable log', () => {
    const { checker, persist } = world();
    persist('n1', { term: 2, vote: 'n1', commit: 0 }, [entry(1, 1)]);
    expect(() => checker.observeSend(message('app', 'n1', 'n2', 2, { entries: [entry(1, 2)] }))).toThrow(/where its durable log has term 1/);
  });

  it('rejects a leader that rewrites its log within its term, and a second sender of leader messages in a term', () => {
    const { checker, persist } = world();
    persist('n1', { term: 1, vote: 'n1', commit: 0 });
    persist('n2', { term: 1, vote: 'n1', commit: 0 });
    checker.observeSend(message('app', 'n1', 'n2', 1, { entries: [entry(1, 1)] }));
    expect(() => checker.observeSend(message('app', 'n1', 'n3', 1, { entries: [entry(1, 0)] }))).toThrow(/leader append-only/);
    expect(() => checker.observeSend(message('heartbeat', 'n2', 'n3', 1))).toThrow(/election safety/);
  });

  it('rejects an acknowledgement whose durable entry is not the one the leader sent there', () => {
    const { checker, persist } = world();
    persist('n2', { term: 1, vote: None, commit: 0 }, [entry(1, 1)]);
    persist('n1', { term: 2, vote: 'n1', commit: 0 });
    checker.observeSend(message('app', 'n1', 'n2', 2, { entries: [entry(1, 2)] }));
    persist('n2', { term: 2, vote: 'n1', commit: 0 });
    expect(() => checker.observeSend(message('appResp', 'n2', 'n1', 2, { index: 1 }))).toThrow(/the durable entry there has term 1/);
  });

  it('rejects a commit that rests on fewer than a quorum of durable copies', () => {
    const { checker, persist } = world();
    persist('n1', { term: 1, vote: 'n1', commit: 0 });
    checker.observeSend(message('app', 'n1', 'n2', 1, { entries: [entry(1, 1)] }));
    persist('n2', { term: 1, vote: 'n1', commit: 0 }, [entry(1, 1)]);
    expect(() => checker.observeStatus(status('n1', 'leader', 1, 1), 1)).toThrow(/committed entries are durable on a quorum/);
    persist('n1', undefined, [entry(1, 1)]);
    checker.observeStatus(status('n1', 'leader', 1, 1), 1);
  });
});
