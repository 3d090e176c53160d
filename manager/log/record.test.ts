import fc from 'fast-check';
import { encodeRecord, HEADER_BYTES, scanRecords } from './record';

const text = (value: string): Buffer => Buffer.from(value, 'utf8');
const texts = (entries: Uint8Array[]): string[] => entries.map((entry) => Buffer.from(entry).toString('utf8'));

describe('records', () => {
  it('lays out length, checksum and payload', () => {
    const record = encodeRecord(text('hi'));
    expect(record.length).toBe(HEADER_BYTES + 2);
    expect(record.readUInt32LE(0)).toBe(2);
    expect(record.subarray(HEADER_BYTES).toString()).toBe('hi');
  });

  it('reads back what was written, empty payloads included', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (payloads) => {
        const data = Buffer.concat(payloads.map(encodeRecord));
        const scan = scanRecords(data);
        expect(scan.entries.map((entry) => Buffer.from(entry))).toEqual(payloads.map((payload) => Buffer.from(payload)));
        expect(scan).toMatchObject({ validLength: data.length });
        expect(scan.validRecordAfterDamage).toBeUndefined();
      }),
    );
  });

  it('stops at a record cut short anywhere, with nothing valid after it', () => {
    const whole = Buffer.concat([encodeRecord(text('one')), encodeRecord(text('two'))]);
    const second = encodeRecord(text('one')).length;
    for (let cut = second; cut < whole.length; cut++) {
      const scan = scanRecords(whole.subarray(0, cut));
      expect(texts(scan.entries)).toEqual(['one']);
      expect(scan.validLength).toBe(second);
      expect(scan.validRecordAfterDamage).toBeUndefined();
    }
  });

  it('treats zeros at the end as damage, not as empty records', () => {
    const scan = scanRecords(Buffer.concat([encodeRecord(text('one')), Buffer.alloc(64)]));
    expect(texts(scan.entries)).toEqual(['one']);
    expect(scan.validRecordAfterDamage).toBeUndefined();
  });

  it('points at the valid record that follows damage in the middle', () => {
    const records = [encodeRecord(text('one')), encodeRecord(text('two')), encodeRecord(text('three'))];
    const data = Buffer.concat(records);
    const damagedAt = records[0]!.length + HEADER_BYTES + 1;
    data[damagedAt]! ^= 0xff;
    const scan = scanRecords(data);
    expect(texts(scan.entries)).toEqual(['one']);
    expect(scan.validLength).toBe(records[0]!.length);
    expect(scan.validRecordAfterDamage).toBe(records[0]!.length + records[1]!.length);
  });
});
