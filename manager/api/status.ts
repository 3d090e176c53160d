import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { StoreError } from '../store';

type StatusName = StoreError['code'] | 'UNAVAILABLE' | 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'DEADLINE_EXCEEDED';

/** The gRPC error a client sees; `trellis-field` names the request field at fault. */
export function serviceError(code: StatusName, field: string, message: string): ServiceError {
  const metadata = new Metadata();
  if (field) metadata.set('trellis-field', field);
  return Object.assign(new Error(message), { code: status[code] as status, details: message, metadata });
}

export function fromStoreError(error: StoreError): ServiceError {
  return serviceError(error.code, error.field, error.message);
}

export function notFound(field: string, kind: string, reference: string): ServiceError {
  return serviceError('NOT_FOUND', field, `${field}: no ${kind} named or with id "${reference}"`);
}

export function internalError(cause: unknown): ServiceError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return Object.assign(new Error(message), { code: status.INTERNAL, details: message, metadata: new Metadata() });
}
