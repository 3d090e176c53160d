/** A failure to report to the user as one line, without a stack. */
export class CommandError extends Error {}
