/*
 * Names of the files in a storage directory. Numbers are 16 hex digits so the
 * names sort in numeric order.
 */

const SEGMENT_NAME = /^wal-([0-9a-f]{16})\.log$/;
const SNAPSHOT_NAME = /^snapshot-([0-9a-f]{16})\.snap$/;

/** Suffix of a snapshot being written; a leftover one is a write a crash interrupted. */
export const TEMPORARY_SUFFIX = '.tmp';
/** Suffix given to a damaged snapshot, kept for inspection but never loaded. */
export const DAMAGED_SUFFIX = '.damaged';

/** Segments are numbered by sequence: with overwrites, first indexes need not increase. */
export function segmentFileName(sequence: number): string {
  return `wal-${hex16(sequence)}.log`;
}

export function segmentSequenceOf(fileName: string): number | undefined {
  return numberIn(SEGMENT_NAME, fileName);
}

export function snapshotFileName(index: number): string {
  return `snapshot-${hex16(index)}.snap`;
}

export function snapshotIndexOf(fileName: string): number | undefined {
  return numberIn(SNAPSHOT_NAME, fileName);
}

function hex16(value: number): string {
  return value.toString(16).padStart(16, '0');
}

function numberIn(pattern: RegExp, fileName: string): number | undefined {
  const digits = pattern.exec(fileName)?.[1];
  return digits === undefined ? undefined : parseInt(digits, 16);
}
