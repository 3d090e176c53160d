/** How a sealed value starts; the store checks it (without crypto) so that no plaintext secret enters the log. */
export const SEALED_PREFIX = 'sealed:v1:';

const SEALED_PATTERN = /^sealed:v1:[A-Za-z0-9_-]{38,}$/;

/** Whether `text` has the shape of a value `seal` made (at least an IV and a tag). */
export function isSealed(text: unknown): text is string {
  return typeof text === 'string' && SEALED_PATTERN.test(text);
}
