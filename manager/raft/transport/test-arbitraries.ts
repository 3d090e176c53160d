import fc from 'fast-check';
import type { Entry, Message, Snapshot } from '../core/types';
import { messageTypes } from './conversion';

/** fast-check generators of core messages, for the transport's property tests. */

// Plain prototypes, as the core builds its objects: toStrictEqual tells them apart.
const plain = { noNullPrototype: true } as const;

const nodeId = fc.string({ unit: 'grapheme', maxLength: 8 });
const count = fc.maxSafeNat();

const entry: fc.Arbitrary<Entry> = fc.record(
  { term: count, index: count, type: fc.constantFrom('normal', 'confChange'), data: fc.uint8Array({ maxLength: 64 }) },
  plain,
);

const confState = fc.record({ voters: fc.array(nodeId, { maxLength: 5 }), learners: fc.array(nodeId, { maxLength: 3 }) }, plain);

const snapshot = (maxDataBytes: number): fc.Arbitrary<Snapshot> =>
  fc.record(
    {
      metadata: fc.record({ index: count, term: count, confState }, plain),
      data: fc.uint8Array({ maxLength: maxDataBytes }),
    },
    plain,
  );

const messageFields = {
  type: fc.constantFrom(...messageTypes),
  from: nodeId,
  to: nodeId,
  term: count,
  logTerm: count,
  index: count,
  entries: fc.array(entry, { maxLength: 5 }),
  commit: count,
  reject: fc.boolean(),
  rejectHint: count,
  context: fc.string({ unit: 'grapheme', maxLength: 16 }),
};

/** Any message without a snapshot: what travels on the ordered stream. */
export const streamMessage: fc.Arbitrary<Message> = fc.record(messageFields, plain);

/** A 'snap' message with its snapshot. */
export const snapMessage = (maxDataBytes: number): fc.Arbitrary<Message> =>
  fc.record({ ...messageFields, type: fc.constant('snap' as const), snapshot: snapshot(maxDataBytes) }, plain);
