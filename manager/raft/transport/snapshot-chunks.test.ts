import fc from 'fast-check';
import { SnapshotChunk } from '../../../proto/gen/trellis/v1/raft';
import type { Message } from '../core/types';
import { SnapshotAssembler, snapshotChunks } from './snapshot-chunks';
import { snapMessage } from './test-arbitraries';

/** Chunks as the receiver decodes them off the wire. */
function wireChunks(message: Message, chunkBytes: number): SnapshotChunk[] {
  return [...snapshotChunks(message, chunkBytes)].map((chunk) => SnapshotChunk.decode(SnapshotChunk.encode(chunk).finish()));
}

function assemble(chunks: SnapshotChunk[]): Message {
  const assembler = new SnapshotAssembler();
  for (const chunk of chunks) assembler.add(chunk);
  return assembler.message();
}

const message = (dataBytes: number): Message => ({
  type: 'snap', from: 'a', to: 'b', term: 2, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: '',
  snapshot: { metadata: { index: 10, term: 2, confState: { voters: ['a', 'b', 'c'], learners: [] } }, data: new Uint8Array(dataBytes).fill(7) },
});

describe('snapshot chunks', () => {
  it('reassemble into the same message, each chunk within the size, offsets consecutive', () => {
    fc.assert(
      fc.property(snapMessage(2048), fc.integer({ min: 1, max: 300 }), (snap, chunkBytes) => {
        const chunks = wireChunks(snap, chunkBytes);
        const dataBytes = snap.snapshot!.data.byteLength;
        expect(chunks).toHaveLength(Math.max(1, Math.ceil(dataBytes / chunkBytes)));
        for (const chunk of chunks) expect(chunk.data.byteLength).toBeLessThanOrEqual(chunkBytes);
        expect(chunks.map((chunk) => chunk.last)).toEqual(chunks.map((_, i) => i === chunks.length - 1));
        expect(chunks.map((chunk) => chunk.message !== undefined)).toEqual(chunks.map((_, i) => i === 0));
        expect(assemble(chunks)).toStrictEqual(snap);
      }),
    );
  });

  it('send an empty snapshot as one last chunk', () => {
    const chunks = wireChunks(message(0), 16);
    expect(chunks).toHaveLength(1);
    expect(assemble(chunks)).toStrictEqual(message(0));
  });

  it('refuse a message without a snapshot', () => {
    const { snapshot: _, ...bare } = message(1);
    expect(() => [...snapshotChunks(bare, 16)]).toThrow(/no snapshot to send/);
  });

  describe('the assembler refuses', () => {
    const [first, second, third] = wireChunks(message(30), 10);

    it('a gap or a repeat in the offsets', () => {
      expect(() => assemble([first, third])).toThrow(/offset 20, expected 10/);
      expect(() => assemble([first, first])).toThrow(/offset 0, expected 10/);
    });

    it('a first chunk without the message, or a message on a later chunk', () => {
      expect(() => assemble([{ ...first, message: undefined }])).toThrow(/must carry the message/);
      expect(() => assemble([first, { ...second, message: first.message }])).toThrow(/only the first/);
    });

    it('a chunk after the last, and an end before it', () => {
      expect(() => assemble([first, second, third, { ...third, offset: 30 }])).toThrow(/after the last/);
      expect(() => assemble([first, second])).toThrow(/ended before its last chunk/);
    });
  });
});
