import { checkLinearizability, HistoryOp, OpOutcome, RegisterValue } from './linearizability';

function put(key: string, value: string, invokedAt: number, completedAt: number, outcome: OpOutcome = 'ok'): HistoryOp {
  return { clientId: 'c', kind: 'put', key, value, invokedAt, completedAt, outcome };
}

function get(key: string, value: RegisterValue, invokedAt: number, completedAt: number): HistoryOp {
  return { clientId: 'c', kind: 'get', key, value, invokedAt, completedAt, outcome: 'ok' };
}

describe('checkLinearizability', () => {
  it('accepts an empty history', () => {
    expect(checkLinearizability([]).verdict).toBe('linearizable');
  });

  it('accepts sequential writes and reads that see the latest write', () => {
    const history = [put('x', 'a', 1, 2), get('x', 'a', 3, 4), put('x', 'b', 5, 6), get('x', 'b', 7, 8)];
    expect(checkLinearizability(history)).toEqual({ verdict: 'linearizable', checkedOps: 4 });
  });

  it('accepts a read of the initial absent value before any write', () => {
    expect(checkLinearizability([get('x', null, 1, 2), put('x', 'a', 3, 4)]).verdict).toBe('linearizable');
  });

  it('rejects a stale read after a completed write', () => {
    const history = [put('x', 'a', 1, 2), put('x', 'b', 3, 4), get('x', 'a', 5, 6)];
    const result = checkLinearizability(history);
    expect(result.verdict).toBe('violation');
    expect(result).toMatchObject({ key: 'x' });
  });

  it('rejects a read of the absent value after a completed write', () => {
    expect(checkLinearizability([put('x', 'a', 1, 2), get('x', null, 3, 4)]).verdict).toBe('violation');
  });

  it('accepts either value for a read that overlaps a write', () => {
    const writeOverlapping = put('x', 'b', 3, 10);
    expect(checkLinearizability([put('x', 'a', 1, 2), writeOverlapping, get('x', 'a', 4, 5)]).verdict).toBe('linearizable');
    expect(checkLinearizability([put('x', 'a', 1, 2), writeOverlapping, get('x', 'b', 4, 5)]).verdict).toBe('linearizable');
  });

  it('accepts concurrent writes ordered either way, as long as reads agree on one order', () => {
    const concurrent = [put('x', 'a', 1, 10), put('x', 'b', 2, 9)];
    expect(checkLinearizability([...concurrent, get('x', 'a', 11, 12)]).verdict).toBe('linearizable');
    expect(checkLinearizability([...concurrent, get('x', 'b', 11, 12)]).verdict).toBe('linearizable');
  });

  it('rejects reads that see two concurrent writes in both orders', () => {
    const history = [put('x', 'a', 1, 10), put('x', 'b', 2, 9), get('x', 'a', 11, 12), get('x', 'b', 13, 14), get('x', 'a', 15, 16)];
    expect(checkLinearizability(history).verdict).toBe('violation');
  });

  it('rejects a read that returns a value no one wrote', () => {
    expect(checkLinearizability([put('x', 'a', 1, 2), get('x', 'z', 3, 4)]).verdict).toBe('violation');
  });

  it('rejects a read that sees a write before the write was invoked', () => {
    expect(checkLinearizability([get('x', 'a', 1, 2), put('x', 'a', 3, 4)]).verdict).toBe('violation');
  });

  it('lets an unknown write take effect, even long after its invocation', () => {
    const history = [put('x', 'a', 1, 2), put('x', 'b', 3, 4, 'unknown'), get('x', 'a', 5, 6), get('x', 'b', 50, 51)];
    expect(checkLinearizability(history).verdict).toBe('linearizable');
  });

  it('lets an unknown write never take effect', () => {
    const history = [put('x', 'a', 1, 2), put('x', 'b', 3, 4, 'unknown'), get('x', 'a', 50, 51)];
    expect(checkLinearizability(history).verdict).toBe('linearizable');
  });

  it('rejects an unknown write that takes effect, is overwritten, and then reappears', () => {
    const history = [
      put('x', 'b', 1, 2, 'unknown'),
      get('x', 'b', 3, 4),
      put('x', 'c', 5, 6),
      get('x', 'b', 7, 8),
    ];
    expect(checkLinearizability(history).verdict).toBe('violation');
  });

  it('rejects a read of a failed write, which definitely had no effect', () => {
    expect(checkLinearizability([put('x', 'a', 1, 2, 'failed'), get('x', 'a', 3, 4)]).verdict).toBe('violation');
  });

  it('checks keys independently: a violation on one key is reported with that key', () => {
    const history = [put('x', 'a', 1, 2), get('x', 'a', 3, 4), put('y', 'a', 5, 6), put('y', 'b', 7, 8), get('y', 'a', 9, 10)];
    const result = checkLinearizability(history);
    expect(result.verdict).toBe('violation');
    expect(result).toMatchObject({ key: 'y' });
  });

  it('rejects the classic non-linearizable register history that needs backtracking', () => {
    // Reads r1 then r2 are sequential and see b then a; the writes overlap
    // both reads, yet a was completed before b was invoked.
    const history = [put('x', 'a', 1, 3), put('x', 'b', 4, 20), get('x', 'b', 5, 6), get('x', 'a', 7, 8)];
    expect(checkLinearizability(history).verdict).toBe('violation');
  });

  it('handles many overlapping operations without exhausting its budget', () => {
    const history: HistoryOp[] = [];
    for (let i = 0; i < 12; i++) history.push(put('x', `v${i}`, i, 100 + i));
    history.push(get('x', 'v5', 200, 201), get('x', 'v5', 202, 203));
    expect(checkLinearizability(history).verdict).toBe('linearizable');
  });

  it('reports inconclusive rather than guessing when the budget runs out', () => {
    const history: HistoryOp[] = [];
    for (let i = 0; i < 12; i++) history.push(put('x', `v${i}`, i, 100 + i));
    history.push(get('x', 'missing', 200, 201));
    expect(checkLinearizability(history, { maxStepsPerKey: 10 }).verdict).toBe('inconclusive');
  });
});
