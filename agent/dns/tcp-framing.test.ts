import { TcpFrames, tcpFrame } from './tcp-framing';

describe('DNS over TCP framing', () => {
  it('hands out each message once whole, however the stream splits or joins them', () => {
    const first = Buffer.from('first query');
    const second = Buffer.from('second');
    const stream = Buffer.concat([tcpFrame(first) ?? Buffer.alloc(0), tcpFrame(second) ?? Buffer.alloc(0)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const frames = new TcpFrames();
      const messages = [...frames.push(stream.subarray(0, cut)), ...frames.push(stream.subarray(cut))];
      expect(messages.map(String)).toEqual(['first query', 'second']);
    }
    const byteByByte = new TcpFrames();
    expect([...stream].flatMap((byte) => byteByByte.push(Buffer.from([byte]))).map(String)).toEqual(['first query', 'second']);
  });

  it('cannot frame a reply longer than two bytes can say', () => {
    expect(tcpFrame(Buffer.alloc(0x10000))).toBeUndefined();
    expect(tcpFrame(Buffer.alloc(0xffff))?.readUInt16BE(0)).toBe(0xffff);
  });
});
