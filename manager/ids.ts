import { randomBytes } from 'node:crypto';

/** Object ids are chosen before proposing, so every replica applies the same id. */
export function newId(): string {
  return randomBytes(12).toString('hex');
}
