import fc from 'fast-check';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec';

describe('snapshot payloads', () => {
  it('decode to what was encoded', () => {
    const snapshot = fc.record({
      metadata: fc.record({
        index: fc.nat(),
        term: fc.nat(),
        confState: fc.record({ voters: fc.array(fc.string()), learners: fc.array(fc.string()) }),
      }),
      data: fc.uint8Array({ maxLength: 128 }),
    });
    fc.assert(fc.property(snapshot, (value) => expect(decodeSnapshot(encodeSnapshot(value))).toEqual(value)));
  });

  it('refuse malformed metadata', () => {
    const json = Buffer.from('{"index":1}');
    const payload = Buffer.concat([Buffer.alloc(4), json]);
    payload.writeUInt32LE(json.length, 0);
    expect(() => decodeSnapshot(payload)).toThrow('snapshot metadata is malformed');
    expect(() => decodeSnapshot(Buffer.from([255, 0, 0, 0]))).toThrow('runs past the payload');
  });
});
