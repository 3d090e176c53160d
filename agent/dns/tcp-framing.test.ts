import { framed, TcpMessages } from './tcp-framing';

describe('DNS over TCP framing', () => {
  it('hands out each message once whole, however the stream splits or joins them', () => {
    const stream = Buffer.concat([framed(Buffer.from('first query')), framed(Buffer.from('second'))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const messages = new TcpMessages();
      expect([...messages.push(stream.subarray(0, cut)), ...messages.push(stream.subarray(cut))].map(String)).toEqual(['first query', 'second']);
    }
    const byteByByte = new TcpMessages();
    expect([...stream].flatMap((byte) => byteByByte.push(Buffer.from([byte]))).map(String)).toEqual(['first query', 'second']);
  });
});
