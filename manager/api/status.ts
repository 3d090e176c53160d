import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { StoreError } from '../store';

type StatusName = StoreError['code'] | 'UNAVAILABLE' | 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'DEADLINE_EXCEEDED';

/**
 * Longest status message sent. Messages quote the offending value, and a message of ~100 KB (a
 * huge name echoed back) exceeds what HTTP/2 accepts in the trailers: the client then never gets
 * an answer and waits out its deadline.
 */
export const MAX_MESSAGE_CHARS = 1024;

export function boundedMessage(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  return `${message.slice(0, MAX_MESSAGE_CHARS)}… (message cut at ${MAX_MESSAGE_CHARS} of ${message.length} characters)`;
}

/** The gRPC error a client sees; `trellis-field` names the request field at fault. */
export function serviceError(code: StatusName, field: string, message: string): ServiceError {
  const metadata = new Metadata();
  if (field) metadata.set('trellis-field', field);
  const details = boundedMessage(message);
  return Object.assign(new Error(details), { code: status[code] as status, details, metadata });
}

export function fromStoreError(error: StoreError): ServiceError {
  return serviceError(error.code, error.field, error.message);
}

export function notFound(field: string, kind: string, reference: string): ServiceError {
  return serviceError('NOT_FOUND', field, `${field}: no ${kind} named or with id "${reference}"`);
}

export function internalError(cause: unknown): ServiceError {
  const message = boundedMessage(cause instanceof Error ? cause.message : String(cause));
  return Object.assign(new Error(message), { code: status.INTERNAL, details: message, metadata: new Metadata() });
}
