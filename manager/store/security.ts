import { isSealed } from '../secrets/sealed-format';
import type { FinishRootRotation, InitSecurity, RotateJoinSecret, RotateRootCa, SetAutolock } from './commands';
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
  state.security = { ...state.security, joinSecretsSealed: { ...state.security.joinSecretsSealed, [command.role]: command.sealedSecret } };
  return ok({});
}

export function setAutolock(state: StoreState, command: SetAutolock): Result<Record<string, never>> {
  if (!state.security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster was created without a CA; it has nothing to lock');
  const { unlockKeySealed: _previous, ...unlocked } = state.security;
  if (command.unlockKeySealed === undefined) {
    state.security = unlocked;
    return ok({});
  }
  if (!isSealed(command.unlockKeySealed)) return fail('INVALID_ARGUMENT', 'unlockKeySealed', `unlockKeySealed: ${NOT_SEALED}`);
  state.security = { ...unlocked, unlockKeySealed: command.unlockKeySealed };
  return ok({});
}

const isPem = (text: unknown, label: string): boolean =>
  typeof text === 'string' && text.length <= 16_384 && text.trimStart().startsWith(`-----BEGIN ${label}-----`);

export function rotateRootCa(state: StoreState, command: RotateRootCa): Result<Record<string, never>> {
  const security = state.security;
  if (!security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster was created without a CA; it has no root to rotate');
  if (security.rotation) {
    return fail('FAILED_PRECONDITION', 'rotation', 'rotation: a root rotation is under way; wait until every node is on the new root (trellis cluster ca)');
  }
  for (const [field, label] of [['caCertPem', 'CERTIFICATE'], ['crossSignedCaPem', 'CERTIFICATE']] as const) {
    if (!isPem(command[field], label)) return fail('INVALID_ARGUMENT', field, `${field}: not a PEM ${label.toLowerCase()}`);
  }
  if (!isSealed(command.caKeySealed)) return fail('INVALID_ARGUMENT', 'caKeySealed', `caKeySealed: ${NOT_SEALED}`);
  state.security = {
    ...security,
    caCertPem: command.caCertPem,
    caKeySealed: command.caKeySealed,
    rotation: { previousCaCertPem: security.caCertPem, crossSignedCaPem: command.crossSignedCaPem },
  };
  return ok({});
}

export function finishRootRotation(state: StoreState, command: FinishRootRotation): Result<Record<string, never>> {
  const security = state.security;
  if (!security?.rotation || security.caCertPem !== command.caCertPem) {
    return fail('FAILED_PRECONDITION', 'ca_cert_pem', 'ca_cert_pem: no rotation to this root is under way');
  }
  const { rotation: _finished, ...rest } = security;
  state.security = rest;
  return ok({});
}
