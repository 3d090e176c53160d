import fc from 'fast-check';
import { FrameDecoder, FrameTooLargeError, encodeFrame } from './frames';

describe('gossip framing', () => {
  it('gives back every message, in order, however the stream splits or joins the writes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1 }), (messages, cuts) => {
        const wire = Buffer.concat(messages.map(encodeFrame));
        const decoder = new FrameDecoder(1024);
        const received: Buffer[] = [];
        for (let offset = 0, i = 0; offset < wire.byteLength; i++) {
          const size = cuts[i % cuts.length] as number;
          received.push(...decoder.push(wire.subarray(offset, offset + size)));
          offset += size;
        }
        expect(received.map((message) => Buffer.from(message).toString('hex'))).toEqual(messages.map((message) => Buffer.from(message).toString('hex')));
      }),
    );
  });

  it('refuses a length above the bound as soon as the header arrives, before its body', () => {
    const decoder = new FrameDecoder(16);
    expect(decoder.push(encodeFrame(Buffer.alloc(16, 1)))).toHaveLength(1);
    const oversized = encodeFrame(Buffer.alloc(17, 2));
    expect(decoder.push(oversized.subarray(0, 2))).toEqual([]);
    expect(() => decoder.push(oversized.subarray(2, 4))).toThrow(FrameTooLargeError);
    expect(() => new FrameDecoder(16).push(oversized.subarray(0, 4))).toThrow('a gossip message of 17 bytes exceeds the bound of 16');
  });
});
