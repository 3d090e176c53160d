import { availableParallelism } from 'node:os';
import type { CommandRunner } from './command-runner';
import { NETNS_RUN_DIR } from './names';

/**
 * Reads many namespaces through a few shell loops instead of one process per namespace from the
 * agent: a pass reads every sandbox and every network namespace, and at a thousand namespaces
 * the agent's own spawns (a fork of a large process each) were the biggest part of a restart.
 * A namespace is entered with `nsenter --net` (not `ip -n`, which also copies the whole mount
 * table). Each namespace's output is framed by a line `@@ NAME`; `@@failed` says it could not be
 * entered or read (vanished meanwhile, or a dangling name). A name with nothing under it is
 * skipped: a scoped pass asks for names without listing them first.
 */

export type NamespaceKind = 'sandbox' | 'network';

/** Bridge netfilter's switches, in the order NETWORK_TAIL prints them: br_netfilter makes them per namespace. */
export const BRIDGE_NETFILTER_SYSCTLS = ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables', 'net.bridge.bridge-nf-call-arptables'];
/** Starts the last line of a network namespace's output: the switches' values run together ("111"), none without br_netfilter. */
export const BRIDGE_NETFILTER_MARK = '@nf ';

/**
 * Inside a network namespace, after the `ip` batch: the FDB, then the bridge netfilter switches,
 * read with the shell's own `read` so no process is spent on them. Its status is ignored: a sysctl
 * file ends after the first one-byte read, before the newline `read` waits for.
 */
const NETWORK_TAIL = `bridge -j fdb show || exit 1
nf=
for key in ${BRIDGE_NETFILTER_SYSCTLS.map((key) => key.replace('net.bridge.', '')).join(' ')}; do
  value=
  read value 2>/dev/null < /proc/sys/net/bridge/$key
  nf="$nf$value"
done
echo "${BRIDGE_NETFILTER_MARK}$nf"`;

/**
 * Sandbox: addresses, the default route and the neighbour tables (ARP timing) in one `ip` batch;
 * `-4` cannot be global there, as it would hide links without an IPv4 address yet.
 * Network: links and neighbours in one `ip` batch, then NETWORK_TAIL.
 */
const LOOP = `kind=$1; shift
NETWORK_TAIL='${NETWORK_TAIL}'
for ns; do
  path="${NETNS_RUN_DIR}/$ns"
  [ -e "$path" ] || continue
  echo "@@ $ns"
  if [ "$kind" = sandbox ]; then
    nsenter --net="$path" -- ip -j -d -batch - <<EOF || echo "@@failed"
addr show
route show default
ntable show
EOF
  else
    { nsenter --net="$path" -- ip -j -d -batch - <<EOF
link show
neigh show
EOF
    } && nsenter --net="$path" -- sh -c "$NETWORK_TAIL" || echo "@@failed"
  fi
done
exit 0`;

/**
 * The JSON lines each namespace printed (one per command; see LOOP), by namespace; undefined for
 * a namespace that could not be read, and no entry for a name that does not exist.
 */
export function readNamespaces(runner: CommandRunner, kind: NamespaceKind, names: readonly string[]): Promise<Map<string, string[] | undefined>> {
  return readFramed(runner, LOOP, [kind], names);
}

/**
 * A loop over its arguments (namespace names) that runs `body` with $ns and $path set, in the
 * framing readFramed parses; `body` prints `@@failed` when the namespace could not be read.
 */
export function eachNamespaceLoop(body: string): string {
  return `for ns; do
  path="${NETNS_RUN_DIR}/$ns"
  [ -e "$path" ] || continue
  echo "@@ $ns"
${body}
done
exit 0`;
}

/**
 * Runs `script` (a loop like eachNamespaceLoop's, given `leading` arguments then names) in one
 * shell per core, each over a share of the names; what each namespace printed, line by line.
 */
export async function readFramed(
  runner: CommandRunner,
  script: string,
  leading: readonly string[],
  names: readonly string[],
): Promise<Map<string, string[] | undefined>> {
  const loops = Math.min(availableParallelism(), names.length);
  const shares = Array.from({ length: loops }, (_, loop) => names.filter((_, index) => index % loops === loop));
  const outputs = await Promise.all(shares.map((share) => runner.run(['sh', '-c', script, 'trellis-read', ...leading, ...share])));
  const read = new Map<string, string[] | undefined>();
  for (const output of outputs) parseFramed(output, read);
  return read;
}

/** Adds each namespace's lines of one loop's output (`@@ NAME` frames, `@@failed`) to `into`. */
export function parseFramed(output: string, into: Map<string, string[] | undefined>): void {
  let current: string | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith('@@ ')) {
      current = line.slice(3);
      into.set(current, []);
    } else if (current !== undefined && line === '@@failed') {
      into.set(current, undefined);
    } else if (current !== undefined && line.trim() !== '') {
      into.get(current)?.push(line);
    }
  }
}
