/**
 * What a manager locked under autolock answers every call with (FAILED_PRECONDITION): wire
 * semantics, so that a client given several managers can tell a locked one and try the next.
 */
export const LOCKED_MESSAGE = 'manager is locked: run `trellis cluster unlock`';
