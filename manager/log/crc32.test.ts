import fc from 'fast-check';
import { crc32 } from './crc32';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

describe('crc32', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('of %j is the standard value', (text, expected) => {
    expect(crc32(bytes(text))).toBe(expected);
  });

  it('is the same whether the data comes whole or in pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array(), fc.uint8Array(), (head, tail) => {
        expect(crc32(tail, crc32(head))).toBe(crc32(Buffer.concat([head, tail])));
      }),
    );
  });

  it('notices a single flipped bit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (data, at, bit) => {
        const damaged = Uint8Array.from(data);
        damaged[at % data.length]! ^= 1 << bit;
        expect(crc32(damaged)).not.toBe(crc32(data));
      }),
    );
  });
});
