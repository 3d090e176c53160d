import { type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { ClusterUnavailableError } from '../cluster/cluster-state';
import { internalError, serviceError } from './status';

/** What a handler may return: the reply, or a ServiceError to send instead. */
export type Outcome<Res> = Res | ServiceError;

/**
 * How long the server works on one unary call, whatever deadline the client set (or
 * none): past it the caller gets DEADLINE_EXCEEDED and the call's reply, when it
 * comes, is dropped, so a stuck call holds its client no longer. Well above the
 * CLI's 15 s and a forwarded call's 10 s, which end sooner on their own.
 */
export const serverCallDeadlineMs = 30_000;

function isServiceError(value: unknown): value is ServiceError {
  return value instanceof Error && typeof (value as Partial<ServiceError>).code === 'number';
}

/** A thrown error as the client should see it: cluster trouble is UNAVAILABLE (retry), a peer's status passes through. */
export function asServiceError(cause: unknown): ServiceError {
  if (cause instanceof ClusterUnavailableError) return serviceError('UNAVAILABLE', '', cause.message);
  if (isServiceError(cause)) return cause;
  return internalError(cause);
}

/** Adapts an async request → outcome function to grpc-js's callback style, answering within `deadlineMs`. */
export function unary<Req, Res>(
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Outcome<Res>> | Outcome<Res>,
  deadlineMs = serverCallDeadlineMs,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    let answered = false;
    const answer = (outcome: Outcome<Res>): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      if (outcome instanceof Error) callback(asServiceError(outcome));
      else callback(null, outcome);
    };
    const timer = setTimeout(
      () =>
        answer(
          serviceError(
            'DEADLINE_EXCEEDED',
            '',
            `the server gave up on this call after ${deadlineMs / 1000} s; a write it made may still take effect, so check before retrying`,
          ),
        ),
      deadlineMs,
    );
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(answer, (cause: unknown) => answer(asServiceError(cause)));
  };
}
