/** What an operator can do when the storage refuses to open; said once so every refusal says the same. */
const REMEDY =
  'Refusing to start: acknowledged Raft state may be lost. Restore this manager from a healthy peer ' +
  '(`trellis manager leave --id ID` on a healthy manager, empty this data directory, start it again with --join HOST:PORT) ' +
  'or, if no healthy peer is left, from a backup.';

/** An error naming the damaged place, what is wrong there, and what to do. */
export function damageError(file: string, offset: number, problem: string): Error {
  return new Error(`${file} at byte offset ${offset}: ${problem}. ${REMEDY}`);
}
