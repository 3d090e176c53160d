/**
 * What a failed `ip -force -batch` or `bridge -force -batch` says: each failed line's error
 * message(s), then `Command failed -:N` (N counting the lines of stdin from 1). Pure.
 */

const FAILED_LINE = /^Command failed -:(\d+)$/;

export interface BatchFailures {
  /** The error text before each `Command failed -:N`, by N. */
  lines: Map<number, string>;
  /** Text after the last such line, or all of it when there is none: a failure no line owns (nsenter's, say). */
  unattributed: string;
}

export function parseBatchFailures(stderr: string): BatchFailures {
  const lines = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const failed = FAILED_LINE.exec(line.trim());
    if (failed?.[1] === undefined) {
      pending.push(line);
      continue;
    }
    lines.set(Number(failed[1]), pending.join('\n').trim());
    pending = [];
  }
  return { lines, unattributed: pending.join('\n').trim() };
}

/**
 * What iproute2 says when the object a delete names is not there: no such link (a name or
 * `dev`), no such entry, address or route, no such /run/netns file. A missing address is
 * EADDRNOTAVAIL on older kernels, and an extack message on newer ones (measured on 6.18).
 */
const NOT_THERE = /Cannot find device|No such device|No such file or directory|No such process|Cannot assign requested address|Error: ipv4: Address not found\./;

/**
 * A delete of something the kernel has removed already counts as done: a namespace's teardown
 * runs in the background and takes its devices (and their peers, entries and addresses) along
 * at its own pace, so a pass that read them a moment earlier may find them gone.
 */
export function isAlreadyGone(args: readonly string[], message: string): boolean {
  return args[1] === 'del' && message !== '' && message.split('\n').every((line) => NOT_THERE.test(line));
}

/** Whether every failure of a batch of `lines` is a delete of something already gone. */
export function onlyAlreadyGone(lines: readonly (readonly string[])[], stderr: string): boolean {
  const failures = parseBatchFailures(stderr);
  if (failures.unattributed !== '' || failures.lines.size === 0) return false;
  return [...failures.lines].every(([number, message]) => {
    const args = lines[number - 1];
    return args !== undefined && isAlreadyGone(args, message);
  });
}
