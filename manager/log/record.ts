import { crc32 } from './crc32';

/*
 * One record: [u32 length][u32 crc32][payload], both little-endian. The CRC
 * covers the length bytes and the payload, so a damaged length is caught too,
 * and a run of zero bytes (what a crash can leave at the end of a file) is
 * never mistaken for an empty record.
 */

export const HEADER_BYTES = 8;

export function encodeRecord(payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(crc32(payload, crc32(record.subarray(0, 4))), 4);
  record.set(payload, HEADER_BYTES);
  return record;
}

/** The payload of the whole, valid record at `offset`, or undefined. */
function recordAt(data: Buffer, offset: number): Uint8Array | undefined {
  if (data.length - offset < HEADER_BYTES) return undefined;
  const length = data.readUInt32LE(offset);
  const start = offset + HEADER_BYTES;
  if (data.length - start < length) return undefined;
  const payload = data.subarray(start, start + length);
  const expected = crc32(payload, crc32(data.subarray(offset, offset + 4)));
  return data.readUInt32LE(offset + 4) === expected ? payload : undefined;
}

export interface Scan {
  /** Payloads of the valid records at the start of the data, in order. */
  entries: Uint8Array[];
  /** Bytes taken by those records; anything after is damaged. */
  validLength: number;
  /**
   * Where a valid record starts after the damage, if one does. Then the damage
   * is not a write cut short at the end but a hole in the middle.
   */
  validRecordAfterDamage?: number;
}

export function scanRecords(data: Buffer): Scan {
  const entries: Uint8Array[] = [];
  let offset = 0;
  for (let payload = recordAt(data, offset); payload !== undefined; payload = recordAt(data, offset)) {
    entries.push(payload);
    offset += HEADER_BYTES + payload.length;
  }
  for (let later = offset + 1; later < data.length; later++) {
    if (recordAt(data, later) !== undefined) return { entries, validLength: offset, validRecordAfterDamage: later };
  }
  return { entries, validLength: offset };
}
