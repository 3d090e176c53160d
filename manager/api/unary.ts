import { type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { ClusterUnavailableError } from '../cluster/cluster-state';
import { internalError, serviceError } from './status';

/** What a handler may return: the reply, or a ServiceError to send instead. */
export type Outcome<Res> = Res | ServiceError;

function isServiceError(value: unknown): value is ServiceError {
  return value instanceof Error && typeof (value as Partial<ServiceError>).code === 'number';
}

/** A thrown error as the client should see it: cluster trouble is UNAVAILABLE (retry), a peer's status passes through. */
function asServiceError(cause: unknown): ServiceError {
  if (cause instanceof ClusterUnavailableError) return serviceError('UNAVAILABLE', '', cause.message);
  if (isServiceError(cause)) return cause;
  return internalError(cause);
}

/** Adapts an async request → outcome function to grpc-js's callback style. */
export function unary<Req, Res>(handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Outcome<Res>> | Outcome<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (outcome) => (outcome instanceof Error ? callback(asServiceError(outcome)) : callback(null, outcome)),
        (cause: unknown) => callback(asServiceError(cause)),
      );
  };
}
