/**
 * Reading the table back. `nft list` indents with tabs and separates chains with blank lines;
 * both sides of the comparison go through the same layout so only content can differ.
 */

/** Argv that prints the table, as nft's own syntax. */
export function listTableArgv(table: string): string[] {
  return ['nft', 'list', 'table', 'ip', table];
}

/**
 * nft reports a missing table as ENOENT followed by the command it could not run; anchoring on
 * that command keeps other ENOENTs (a vanished network namespace, a missing binary) real errors.
 */
export function isMissingTableError(stderr: string): boolean {
  return /^Error: No such file or directory\n\s*list table ip \S+/m.test(stderr);
}

/** One statement a line, indented with a tab per open brace, no blank lines, ending in a newline. */
export function layOut(lines: readonly string[]): string {
  let depth = 0;
  const indented: string[] = [];
  for (const line of lines) {
    if (line.startsWith('}')) depth = Math.max(0, depth - 1);
    indented.push(`${'\t'.repeat(depth)}${line}`);
    if (line.endsWith('{')) depth += 1;
  }
  return `${indented.join('\n')}\n`;
}

/** Canonical form of `nft list table` output, also of `nft -a` output (handles are identities, not content). */
export function normalizeListing(listing: string): string {
  const statements = listing
    .split('\n')
    .map((line) => line.replace(/\s*# handle \d+\s*$/, '').replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '');
  return layOut(statements);
}
