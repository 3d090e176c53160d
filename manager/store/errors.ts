/** Why a command was refused. `field` uses the CLI/proto spelling (`subnet`, `ip_range`); `message` is for a human. */
export interface StoreError {
  code: 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION' | 'RESOURCE_EXHAUSTED';
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

/** For a reference (name or id) to a network, sandbox or node, whose request field has the same name. */
export function notFound(kind: 'network' | 'sandbox' | 'node', reference: string): { ok: false; error: StoreError } {
  return fail('NOT_FOUND', kind, `${kind}: no ${kind} named or with id "${reference}"`);
}
