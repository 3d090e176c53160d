/** The checksummed record format the Raft write-ahead log and snapshots are made of. */
export { encodeRecord, scanRecords, HEADER_BYTES, type Scan } from './record';
export { crc32 } from './crc32';
