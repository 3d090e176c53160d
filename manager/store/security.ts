import type { FinishRootRotation, InitSecurity, RotateJoinSecret, RotateRootCa } from './commands';
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

const isPem = (text: unknown, label: string): boolean =>
  typeof text === 'string' && text.length <= 16_384 && text.trimStart().startsWith(`-----BEGIN ${label}-----`);

export function rotateRootCa(state: StoreState, command: RotateRootCa): Result<Record<string, never>> {
  const security = state.security;
  if (!security) return fail('FAILED_PRECONDITION', 'security', 'security: this cluster was created without a CA; it has no root to rotate');
  if (security.rotation) {
    return fail('FAILED_PRECONDITION', 'rotation', 'rotation: a root rotation is under way; wait until every node is on the new root (trellis cluster ca)');
  }
  for (const [field, label] of [['caCertPem', 'CERTIFICATE'], ['caKeyPem', 'PRIVATE KEY'], ['crossSignedCaPem', 'CERTIFICATE']] as const) {
    if (!isPem(command[field], label)) return fail('INVALID_ARGUMENT', field, `${field}: not a PEM ${label.toLowerCase()}`);
  }
  security.rotation = { previousCaCertPem: security.caCertPem, crossSignedCaPem: command.crossSignedCaPem };
  security.caCertPem = command.caCertPem;
  security.caKeyPem = command.caKeyPem;
  return ok({});
}

export function finishRootRotation(state: StoreState, command: FinishRootRotation): Result<Record<string, never>> {
  const security = state.security;
  if (!security?.rotation || security.caCertPem !== command.caCertPem) {
    return fail('FAILED_PRECONDITION', 'ca_cert_pem', 'ca_cert_pem: no rotation to this root is under way');
  }
  delete security.rotation;
  return ok({});
}
