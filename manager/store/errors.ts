/** Why a command was refused. `field` uses the CLI/proto spelling (`subnet`, `ip_range`); `message` is for a human. */
export interface StoreError {
  /** INTERNAL: a handler threw (a bug); the command changed nothing. */
  code: 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION' | 'RESOURCE_EXHAUSTED' | 'INTERNAL';
  field: string;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: StoreError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(code: StoreError['code'], field: string, message: string): { ok: false; error: StoreError } {
  return { ok: false, error: { code, field, message } };
}

/** For a reference (name or id) to an object; the request field is named after the kind unless told otherwise. */
export function notFound(
  kind: 'network' | 'sandbox' | 'node' | 'service',
  reference: string,
  field: string = kind,
): { ok: false; error: StoreError } {
  return fail('NOT_FOUND', field, `${field}: no ${kind} named or with id "${reference}"`);
}

/**
 * A refusal about one element of a list field (`ipam`, `ports`): the field is the
 * list, and the message points at the element, e.g. "ipam[1].gateway: …".
 */
export function inElement<T>(listField: string, index: number, result: Result<T>): Result<T> {
  if (result.ok) return result;
  return fail(result.error.code, listField, `${listField}[${index}].${result.error.message}`);
}
