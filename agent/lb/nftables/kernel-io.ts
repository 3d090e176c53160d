import { CommandRunner, NETNS_RUN_DIR } from '../../kernel';
import { eachNamespaceLoop, readFramed } from '../../kernel/namespace-reads';
import { isMissingTableError } from '../../firewall';
import { parseListing } from './listing';
import { LB_TABLE } from './names';
import type { NftLbChange } from './plan';
import type { ObservedLb } from './table';

const NFT_ERROR = '@@nft-error';

/** Each namespace's table as JSON, or nft's complaint after a marker line; one nft process per namespace. */
const READ_BODY = `if out=$(nsenter --net="$path" -- nft -j list table ip ${LB_TABLE} 2>&1); then
  printf '%s\\n' "$out"
else
  echo "${NFT_ERROR}"; printf '%s\\n' "$out"
fi`;

/**
 * The tables of `netns`, read by a shell loop per core (never a process per namespace from the
 * agent). No entry: no table, or no such namespace.
 */
export async function readTables(runner: CommandRunner, netns: readonly string[]): Promise<Map<string, ObservedLb>> {
  const read = await readFramed(runner, eachNamespaceLoop(READ_BODY), [], netns);
  const tables = new Map<string, ObservedLb>();
  for (const [name, lines] of read) {
    if (lines === undefined) {
      tables.set(name, { kind: 'unreadable', reason: 'the namespace could not be entered' });
    } else if (lines[0] === NFT_ERROR) {
      const complaint = lines.slice(1).join('\n');
      if (!isMissingTableError(complaint)) tables.set(name, { kind: 'unreadable', reason: complaint.trim() });
    } else {
      try {
        // The listing is one line of JSON; a warning nft printed beside it is not part of it.
        tables.set(name, { kind: 'table', table: parseListing(lines.find((line) => line.startsWith('{')) ?? '') });
      } catch (error) {
        tables.set(name, { kind: 'unreadable', reason: `unreadable listing: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
  }
  return tables;
}

/** A word the shell passes through untouched. */
const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
const END = 'TRELLIS_LB_END';

function job(change: NftLbChange): string {
  const path = quote(`${NETNS_RUN_DIR}/${change.netns}`);
  const name = quote(change.netns);
  const enter = `nsenter --net=${path} --`;
  const clear =
    change.clearFlows === ''
      ? ''
      : `elif ! out=$(${enter} conntrack -R - 2>&1 <<'${END}'
${change.clearFlows}${END}
); then printf '@@failed %s conntrack: %.2000s\\n' ${name} "$out"
`;
  return `if ! out=$(${enter} nft -f - 2>&1 <<'${END}'
${change.transaction}${END}
); then printf '@@failed %s nft: %.2000s\\n' ${name} "$out"
${clear}fi
`;
}

/**
 * Namespaces written side by side, each lane one after another: a transaction that deletes
 * something keeps its nft process waiting on the kernel (about 10 ms, closing its netlink socket)
 * without using a CPU, so lanes overlap those waits; more lanes than this only add processes at once.
 */
const APPLY_LANES = 16;

/**
 * Runs every change from one shell process, in APPLY_LANES lanes, each change an nft transaction
 * and then (only if it succeeded) the conntrack deletions. Resolves with the failures by
 * namespace; every namespace is tried.
 */
export async function applyChanges(runner: CommandRunner, changes: readonly NftLbChange[]): Promise<Map<string, string>> {
  if (changes.length === 0) return new Map();
  const lanes = Array.from({ length: Math.min(APPLY_LANES, changes.length) }, (_, lane) => changes.filter((_, index) => index % APPLY_LANES === lane));
  const script = lanes.map((lane) => `(\n${lane.map(job).join('')}) &\n`).join('') + 'wait\n';
  const output = await runner.run(['sh', '-s'], script);
  const failures = new Map<string, string>();
  let current: string | undefined;
  for (const line of output.split('\n')) {
    const failed = /^@@failed (\S+) (.*)$/.exec(line);
    if (failed !== null) {
      current = failed[1] ?? '';
      failures.set(current, failed[2] ?? '');
    } else if (current !== undefined && line.trim() !== '') {
      failures.set(current, `${failures.get(current) ?? ''}\n${line}`);
    }
  }
  return failures;
}
