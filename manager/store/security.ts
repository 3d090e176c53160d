import { isSealed } from '../secrets/sealed-format';
import type { InitSecurity, RotateJoinSecret, SetAutolock } from './commands';
import { fail, ok, type Result } from './errors';
import type { ClusterSecurityRecord, StoreState } from './state';

const NOT_SEALED = 'is not sealed under the cluster data key (sealed:v1:…); plaintext secrets never enter the log';

/** Why a security record cannot enter the store, or undefined: every secret in it must be sealed. */
function unsealedField(security: ClusterSecurityRecord): string | undefined {
  if (typeof security !== 'object' || security === null) return 'security';
  if (!isSealed(security.caKeySealed)) return 'security.caKeySealed';
  for (const role of ['worker', 'manager'] as const) if (!isSealed(security.joinSecretsSealed?.[role])) return `security.joinSecretsSealed.${role}`;
  if (security.unlockKeySealed !== undefined && !isSealed(security.unlockKeySealed)) return 'security.unlockKeySealed';
  return undefined;
}

export function initSecurity(state: StoreState, command: InitSecurity): Result<Record<string, never>> {
  if (state.security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster already has its CA; it is set once, at init');
  const unsealed = unsealedField(command.security);
  if (unsealed) return fail('INVALID_ARGUMENT', unsealed, `${unsealed}: ${NOT_SEALED}`);
  state.security = structuredClone(command.security);
  return ok({});
}

export function rotateJoinSecret(state: StoreState, command: RotateJoinSecret): Result<Record<string, never>> {
  if (!state.security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster was created without a CA; it has no join tokens');
  if (command.role !== 'worker' && command.role !== 'manager') return fail('INVALID_ARGUMENT', 'role', 'role: give worker or manager');
  if (!isSealed(command.sealedSecret)) return fail('INVALID_ARGUMENT', 'sealedSecret', `sealedSecret: ${NOT_SEALED}`);
  state.security.joinSecretsSealed[command.role] = command.sealedSecret;
  return ok({});
}

export function setAutolock(state: StoreState, command: SetAutolock): Result<Record<string, never>> {
  if (!state.security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster was created without a CA; it has nothing to lock');
  if (command.unlockKeySealed === undefined) {
    delete state.security.unlockKeySealed;
    return ok({});
  }
  if (!isSealed(command.unlockKeySealed)) return fail('INVALID_ARGUMENT', 'unlockKeySealed', `unlockKeySealed: ${NOT_SEALED}`);
  state.security.unlockKeySealed = command.unlockKeySealed;
  return ok({});
}
