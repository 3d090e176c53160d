import type { InitSecurity, RotateJoinSecret } from './commands';
import { fail, ok, type Result } from './errors';
import type { StoreState } from './state';

/** At least 128 bits of a lowercase base-32 secret: what the CA's join-token module makes. */
const SECRET_PATTERN = /^[a-z2-7]{26,}$/;

export function initSecurity(state: StoreState, command: InitSecurity): Result<Record<string, never>> {
  if (state.security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster already has its CA; it is set once, at init');
  state.security = structuredClone(command.security);
  return ok({});
}

export function rotateJoinSecret(state: StoreState, command: RotateJoinSecret): Result<Record<string, never>> {
  if (!state.security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster was created without a CA; it has no join tokens');
  if (!SECRET_PATTERN.test(command.secret)) return fail('INVALID_ARGUMENT', 'secret', 'secret: not a join secret (26 or more characters a-z, 2-7)');
  state.security = { ...state.security, joinSecrets: { ...state.security.joinSecrets, [command.role]: command.secret } };
  return ok({});
}
