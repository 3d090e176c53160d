/**
 * A linearizability checker for a key-value store of registers: put(key, value)
 * and get(key) → value. Keys are independent registers, so the history is
 * checked one key at a time (Herlihy & Wing's locality), which keeps each
 * search small. Each key is searched with Wing & Gong's algorithm as improved
 * by Lowe: walk the time-ordered call/return events, linearize a call when the
 * model allows it, backtrack when a return is reached whose call was not
 * linearized, and memoize (set of linearized ops, register value) so no
 * configuration is explored twice.
 */

/**
 * ok: completed with a known result. failed: definitely had no effect (e.g. the
 * proposal was refused). unknown: may or may not have taken effect, at any time
 * after its invocation (e.g. the client timed out or the node it asked crashed).
 */
export type OpOutcome = 'ok' | 'failed' | 'unknown';

/** A register's value; null while the key was never written. */
export type RegisterValue = string | null;

export interface HistoryOp {
  clientId: string;
  kind: 'put' | 'get';
  key: string;
  /** put: the value written; get: the value read (meaningful when ok). */
  value: RegisterValue;
  /** Logical times; every invocation and completion has its own distinct time. */
  invokedAt: number;
  /** Ignored unless ok: an unknown op may take effect at any time after its invocation. */
  completedAt: number;
  outcome: OpOutcome;
}

export type LinearizabilityResult =
  | { verdict: 'linearizable'; checkedOps: number }
  | { verdict: 'violation'; key: string; ops: HistoryOp[] }
  /** The search exceeded its budget; neither verdict is proven. */
  | { verdict: 'inconclusive'; key: string; ops: HistoryOp[] };

export interface CheckOptions {
  /** Search steps allowed per key before giving up as inconclusive. */
  maxStepsPerKey?: number;
}

const defaultMaxStepsPerKey = 2_000_000;

export function checkLinearizability(history: readonly HistoryOp[], options: CheckOptions = {}): LinearizabilityResult {
  const maxSteps = options.maxStepsPerKey ?? defaultMaxStepsPerKey;
  let checkedOps = 0;
  for (const [key, ops] of partitionByKey(relevantOps(history))) {
    const verdict = checkRegister(ops, maxSteps);
    if (verdict !== 'linearizable') return { verdict, key, ops };
    checkedOps += ops.length;
  }
  return { verdict: 'linearizable', checkedOps };
}

/**
 * Drops what cannot constrain the search: failed ops (no effect), gets without
 * a known result (reads have no effect), and unknown puts whose value nobody
 * read — such a put can always be moved to the end of any linearization, so
 * it never decides the verdict.
 */
function relevantOps(history: readonly HistoryOp[]): HistoryOp[] {
  const readValues = new Set<string>();
  for (const op of history) {
    if (op.kind === 'get' && op.outcome === 'ok' && op.value !== null) readValues.add(`${op.key}\u0000${op.value}`);
  }
  return history.filter((op) => {
    if (op.outcome === 'failed') return false;
    if (op.kind === 'get') return op.outcome === 'ok';
    return op.outcome === 'ok' || readValues.has(`${op.key}\u0000${op.value}`);
  });
}

function partitionByKey(ops: readonly HistoryOp[]): Map<string, HistoryOp[]> {
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of ops) {
    const keyOps = byKey.get(op.key);
    if (keyOps) keyOps.push(op);
    else byKey.set(op.key, [op]);
  }
  return byKey;
}

/** One event of the doubly linked list the search walks and splices. */
interface Event {
  opIndex: number;
  isCall: boolean;
  time: number;
  prev: Event | undefined;
  next: Event | undefined;
  /** A call's return event; undefined for returns and for calls that never returned (unknown). */
  returnEvent: Event | undefined;
}

/** What the register model says of applying `op` in `state`: the next state, or undefined if impossible. */
function stepRegister(state: RegisterValue, op: HistoryOp): RegisterValue | undefined {
  if (op.kind === 'put') return op.value;
  return op.value === state ? state : undefined;
}

function buildEventList(ops: readonly HistoryOp[]): Event {
  const events: Event[] = [];
  ops.forEach((op, opIndex) => {
    const call: Event = { opIndex, isCall: true, time: op.invokedAt, prev: undefined, next: undefined, returnEvent: undefined };
    events.push(call);
    if (op.outcome === 'ok') {
      const ret: Event = { opIndex, isCall: false, time: op.completedAt, prev: undefined, next: undefined, returnEvent: undefined };
      call.returnEvent = ret;
      events.push(ret);
    }
  });
  // At equal times calls sort first, treating the ops as overlapping (the permissive reading).
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall));
  const head: Event = { opIndex: -1, isCall: false, time: -Infinity, prev: undefined, next: undefined, returnEvent: undefined };
  let last = head;
  for (const event of events) {
    last.next = event;
    event.prev = last;
    last = event;
  }
  return head;
}

function unlink(event: Event): void {
  if (event.prev) event.prev.next = event.next;
  if (event.next) event.next.prev = event.prev;
}

/** Undoes unlink(); valid because splices are undone in reverse order. */
function relink(event: Event): void {
  if (event.prev) event.prev.next = event;
  if (event.next) event.next.prev = event;
}

function lift(call: Event): void {
  unlink(call);
  if (call.returnEvent) unlink(call.returnEvent);
}

function unlift(call: Event): void {
  if (call.returnEvent) relink(call.returnEvent);
  relink(call);
}

interface Linearized {
  call: Event;
  stateBefore: RegisterValue;
}

function checkRegister(ops: readonly HistoryOp[], maxSteps: number): 'linearizable' | 'violation' | 'inconclusive' {
  const head = buildEventList(ops);
  const bits = ops.map((_, index) => 1n << BigInt(index));
  const explored = new Set<string>();
  const stack: Linearized[] = [];
  // Unknown ops never return, so they need not be linearized: once every
  // completed op is, the rest can be placed at the end (or never happen).
  let completedLeft = ops.filter((op) => op.outcome === 'ok').length;
  let state: RegisterValue = null;
  let linearizedSet = 0n;
  let event = head.next;
  for (let steps = 0; completedLeft > 0; steps++) {
    if (steps > maxSteps) return 'inconclusive';
    if (event?.isCall) {
      const op = ops[event.opIndex];
      const nextState = stepRegister(state, op);
      if (nextState !== undefined) {
        const nextSet = linearizedSet | bits[event.opIndex];
        const configuration = `${nextSet.toString(36)}|${nextState === null ? '' : `=${nextState}`}`;
        if (!explored.has(configuration)) {
          explored.add(configuration);
          stack.push({ call: event, stateBefore: state });
          state = nextState;
          linearizedSet = nextSet;
          lift(event);
          if (op.outcome === 'ok') completedLeft--;
          event = head.next;
          continue;
        }
      }
      event = event.next;
      continue;
    }
    // A return (or the end of the list) reached before its op was linearized: undo the last choice.
    const undone = stack.pop();
    if (!undone) return 'violation';
    unlift(undone.call);
    state = undone.stateBefore;
    linearizedSet &= ~bits[undone.call.opIndex];
    if (ops[undone.call.opIndex].outcome === 'ok') completedLeft++;
    event = undone.call.next;
  }
  return 'linearizable';
}
