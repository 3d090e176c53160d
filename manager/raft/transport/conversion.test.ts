import fc from 'fast-check';
import { RaftMessage } from '../../../proto/gen/trellis/v1/raft';
import type { Message } from '../core/types';
import { messageFromProto, messageToProto } from './conversion';
import { snapMessage, streamMessage } from './test-arbitraries';

/** Through the wire and back, as a receiver sees it. */
function overTheWire(message: Message): Message {
  const decoded = RaftMessage.decode(RaftMessage.encode(messageToProto(message)).finish());
  return messageFromProto(decoded, message.snapshot?.data);
}

describe('message conversion', () => {
  it('round-trips every stream message exactly through the wire encoding', () => {
    fc.assert(fc.property(streamMessage, (message) => expect(overTheWire(message)).toStrictEqual(message)));
  });

  it('round-trips a snap message when its data is handed back separately', () => {
    fc.assert(fc.property(snapMessage(256), (message) => expect(overTheWire(message)).toStrictEqual(message)));
  });

  it('keeps binary entry data intact and gives the core plain Uint8Arrays', () => {
    const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const message: Message = {
      type: 'app', from: 'a', to: 'b', term: 3, logTerm: 2, index: 7, commit: 6, reject: false, rejectHint: 0, context: '',
      entries: [
        { term: 3, index: 8, type: 'normal', data: allBytes },
        { term: 3, index: 9, type: 'normal', data: new Uint8Array() },
        { term: 3, index: 10, type: 'confChange', data: allBytes.subarray(250) },
      ],
    };
    const received = overTheWire(message);
    expect(received).toStrictEqual(message);
    for (const entry of received.entries) expect(Buffer.isBuffer(entry.data)).toBe(false);
  });

  it('leaves the snapshot data out of the wire message', () => {
    fc.assert(
      fc.property(snapMessage(256), (message) => {
        const encoded = RaftMessage.encode(messageToProto(message)).finish();
        const withoutData = { ...message, snapshot: { ...message.snapshot!, data: new Uint8Array() } };
        const bare = RaftMessage.encode(messageToProto(withoutData)).finish();
        expect(encoded).toEqual(bare);
      }),
    );
  });

  it('refuses what the core has no meaning for', () => {
    const valid = messageToProto({
      type: 'heartbeat', from: 'a', to: 'b', term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: '',
    });
    expect(() => messageFromProto({ ...valid, type: 'gossip' })).toThrow(/unknown message type "gossip"/);
    expect(() =>
      messageFromProto({ ...valid, entries: [{ term: 1, index: 1, type: 'weird', data: Buffer.alloc(0) }] }),
    ).toThrow(/entry 1: unknown type "weird"/);
    const metadata = { index: 1, term: 1, confState: undefined };
    expect(() => messageFromProto({ ...valid, snapshotMetadata: metadata })).toThrow(/metadata without its data/);
    expect(() => messageFromProto(valid, new Uint8Array(1))).toThrow(/data without its metadata/);
  });
});
