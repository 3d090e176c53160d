import type { Snapshot, SnapshotMetadata } from '../core/types';

/*
 * A snapshot file's payload: [u32 metadata length][metadata as JSON][data].
 * The file holds this payload as one checksummed record (manager/log's record format).
 */

export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const metadata = Buffer.from(JSON.stringify(snapshot.metadata), 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32LE(metadata.length, 0);
  return Buffer.concat([length, metadata, snapshot.data]);
}

/** Throws when the payload is not a snapshot this code wrote. */
export function decodeSnapshot(payload: Uint8Array): Snapshot {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (bytes.length < 4) throw new Error('snapshot payload shorter than its length field');
  const metadataEnd = 4 + bytes.readUInt32LE(0);
  if (metadataEnd > bytes.length) throw new Error('snapshot metadata runs past the payload');
  const metadata = parseMetadata(bytes.toString('utf8', 4, metadataEnd));
  return { metadata, data: Uint8Array.prototype.slice.call(bytes, metadataEnd) };
}

function parseMetadata(json: string): SnapshotMetadata {
  const parsed: unknown = JSON.parse(json);
  if (!isMetadata(parsed)) throw new Error(`snapshot metadata is malformed: ${json}`);
  return parsed;
}

function isMetadata(value: unknown): value is SnapshotMetadata {
  if (typeof value !== 'object' || value === null) return false;
  const { index, term, confState } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return false;
  if (typeof confState !== 'object' || confState === null) return false;
  const { voters, learners } = confState as Record<string, unknown>;
  return isStringArray(voters) && isStringArray(learners);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
