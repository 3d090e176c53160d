import {
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Server,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ControlService, type UnlockManagerRequest, type UnlockManagerResponse } from '../../proto/gen/trellis/v1/control';
import { CertificateAuthorityService } from '../../proto/gen/trellis/v1/ca';
import { DispatcherService } from '../../proto/gen/trellis/v1/dispatcher';
import { RaftService } from '../../proto/gen/trellis/v1/raft';
import { LOCKED_MESSAGE } from '../../proto/runtime/locked';
import type { KeyFile } from '../secrets/key-file';
import { SealError } from '../secrets/sealed';
import { UnlockKeyError } from '../secrets/unlock-key';
import { serviceError } from './status';
import { unary } from './unary';

/** The services a serving manager has; a locked one answers every call of them with LOCKED_MESSAGE. */
const LOCKABLE_SERVICES: readonly ServiceDefinition[] = [ControlService, DispatcherService, RaftService, CertificateAuthorityService];

type AnyHandler = handleUnaryCall<unknown, unknown> | handleClientStreamingCall<unknown, unknown> | handleServerStreamingCall<unknown, unknown> | handleBidiStreamingCall<unknown, unknown>;

const locked = () => serviceError('FAILED_PRECONDITION', '', LOCKED_MESSAGE);

/** A handler of the method's kind that answers FAILED_PRECONDITION, whatever was asked. */
function refusing(method: ServiceDefinition[string]): AnyHandler {
  if (!method.responseStream) return (_call: unknown, callback: (error: Error) => void) => callback(locked());
  return (call: { emit(event: 'error', error: Error): void }) => call.emit('error', locked());
}

function refusingImplementation(definition: ServiceDefinition): UntypedServiceImplementation {
  return Object.fromEntries(Object.entries(definition).map(([name, method]) => [name, refusing(method)])) as UntypedServiceImplementation;
}

/**
 * Serves a locked manager until it is given the key that opens its data key file: every call of
 * its services answers FAILED_PRECONDITION except UnlockManager. Health (NOT_SERVING) and
 * reflection stay as the caller set them up. Resolves with the data key and the unlock key, once
 * the refusing services are taken off again (the real ones go in their place).
 */
export function serveLocked(server: Server, keyFile: KeyFile, logger: Logger): Promise<{ dataKey: Buffer; unlockKey: string }> {
  return new Promise((resolve) => {
    let unlocked = false;
    const control = refusingImplementation(ControlService);
    control.unlockManager = unary((request: UnlockManagerRequest): UnlockManagerResponse | ReturnType<typeof serviceError> => {
      if (unlocked) return { wasLocked: false };
      let dataKey: Buffer;
      try {
        dataKey = keyFile.open(request.unlockKey);
      } catch (error) {
        if (error instanceof UnlockKeyError || error instanceof SealError) return serviceError('INVALID_ARGUMENT', 'unlock_key', error.message);
        throw error;
      }
      unlocked = true;
      for (const definition of LOCKABLE_SERVICES) server.removeService(definition);
      logger.info('unlocked: starting Raft');
      resolve({ dataKey, unlockKey: request.unlockKey.trim() });
      return { wasLocked: true };
    });
    for (const definition of LOCKABLE_SERVICES) {
      server.addService(definition, definition === ControlService ? control : refusingImplementation(definition));
    }
    logger.warn('this manager is locked (autolock is on and its data key opens only with the unlock key): it serves no API and does not join Raft until `trellis cluster unlock` gives it the key');
  });
}
