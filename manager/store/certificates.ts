import type { RecordCertificate } from './commands';
import { fail, ok, type Result } from './errors';
import type { IssuedCertificateRecord, StoreState } from './state';

/**
 * The record keeps the latest certificate of each node and drops those that have
 * expired, and never holds more than this many: past it, the earliest issued goes
 * (issuing with a token is rate-limited, so only a flood of joins gets there).
 */
export const MAX_ISSUED_CERTIFICATES = 10_000;

const isTime = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value !== '' && value.length <= max;

function checkRecord(record: IssuedCertificateRecord | undefined): Result<IssuedCertificateRecord> {
  const field = (name: string, message: string) => fail('INVALID_ARGUMENT', `certificate.${name}`, `certificate.${name}: ${message}`);
  if (typeof record !== 'object' || record === null) return fail('INVALID_ARGUMENT', 'certificate', 'certificate: give the issued certificate');
  if (!isText(record.nodeId, 256)) return field('node_id', 'give the node id the certificate names');
  if (!isText(record.role, 64)) return field('role', "give the certificate's role");
  if (typeof record.serial !== 'string' || !/^[0-9a-f]{1,64}$/.test(record.serial)) return field('serial', 'not a hex serial number');
  if (!isTime(record.issuedAt)) return field('issued_at', 'not a time in milliseconds since the epoch');
  if (!isTime(record.notAfter) || record.notAfter <= record.issuedAt) return field('not_after', 'not a time after issued_at');
  if (!isText(record.requestedBy, 256)) return field('requested_by', 'say who asked for the certificate');
  if (record.caDigest !== undefined && !/^[0-9a-f]{64}$/.test(record.caDigest)) return field('ca_digest', 'not a SHA-256 digest in hex');
  if (record.memberId !== undefined && !isText(record.memberId, 256)) return field('member_id', 'give the manager\'s member id, or none');
  const { nodeId, role, serial, issuedAt, notAfter, requestedBy, caDigest, memberId } = record;
  return ok({
    nodeId,
    role,
    serial,
    issuedAt,
    notAfter,
    requestedBy,
    ...(caDigest === undefined ? {} : { caDigest }),
    ...(memberId === undefined ? {} : { memberId }),
  });
}

export function recordCertificate(state: StoreState, command: RecordCertificate): Result<IssuedCertificateRecord> {
  const checked = checkRecord(command.certificate);
  if (!checked.ok) return checked;
  const record = checked.value;
  const issued = state.issuedCertificates;
  for (const [nodeId, earlier] of issued) if (earlier.notAfter <= record.issuedAt) issued.delete(nodeId);
  // Deleted first, so that the map's order stays the order of issuing.
  issued.delete(record.nodeId);
  issued.set(record.nodeId, record);
  while (issued.size > MAX_ISSUED_CERTIFICATES) issued.delete(issued.keys().next().value as string);
  return ok(structuredClone(record));
}
