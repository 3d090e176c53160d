import type { ServiceError } from '@grpc/grpc-js';

/** For tests: the error a call was refused with; a call that succeeds fails the test. */
export function refused(call: Promise<unknown>): Promise<ServiceError> {
  return call.then(
    () => {
      throw new Error('the call succeeded; it should have been refused');
    },
    (error: ServiceError) => error,
  );
}
