import type { sendUnaryData, ServerUnaryCall, ServiceError } from '@grpc/grpc-js';
import { internalError } from './status';

/** What a handler may return: the reply, or a ServiceError to send instead. */
export type Outcome<Res> = Res | ServiceError;

function isServiceError<Res>(outcome: Outcome<Res>): outcome is ServiceError {
  return outcome instanceof Error;
}

/** Adapts an async request → outcome function to grpc-js's callback style. */
export function unary<Req, Res>(handler: (request: Req) => Promise<Outcome<Res>> | Outcome<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (outcome) => (isServiceError(outcome) ? callback(outcome) : callback(null, outcome)),
        (cause: unknown) => callback(internalError(cause)),
      );
  };
}
