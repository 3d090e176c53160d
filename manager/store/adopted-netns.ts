import { netnsOwner, SANDBOX_NETNS_PREFIX } from '../../proto/runtime/reserved';
import { fail, ok, type Result } from './errors';
import type { StoreState } from './state';

/*
 * A sandbox may adopt a namespace some container runtime made, by path. Only two shapes are
 * accepted, so the agent can act on the path without ever resolving links or guessing:
 * a name under /run/netns (used as it is) or a process's namespace (attached by the agent).
 */

/** The prefix of the namespaces the agents create (and of the names they attach adopted processes under). */
export const AGENT_NETNS_PREFIX = SANDBOX_NETNS_PREFIX;

const NAMED = /^\/run\/netns\/([A-Za-z0-9_][A-Za-z0-9_.-]{0,254})$/;
/** No leading zero: /proc does not know "/proc/01". */
const PROCESS = /^\/proc\/([1-9][0-9]{0,6})\/ns\/net$/;
/** The kernel's PID_MAX_LIMIT. */
const MAX_PID = 4_194_304;
const ACCEPTED_FORMS = 'give /run/netns/NAME (a plain name) or /proc/PID/ns/net (a positive process id)';

/** '' (nothing to adopt) or the path, checked; refused when malformed or adopted already. */
export function checkAdoptedNetns(state: StoreState, path: string): Result<string> {
  if (path === '') return ok(path);
  const named = NAMED.exec(path);
  const processId = PROCESS.exec(path)?.[1];
  if (named === null && (processId === undefined || Number(processId) > MAX_PID)) {
    return fail('INVALID_ARGUMENT', 'netns', `netns: "${path}" is not a namespace path Trellis adopts; ${ACCEPTED_FORMS}`);
  }
  // Adopting a namespace Trellis owns makes its owner and the adopting sandbox fight over it on every pass.
  const owned = named?.[1] === undefined ? undefined : netnsOwner(named[1]);
  if (owned !== undefined) {
    return fail('INVALID_ARGUMENT', 'netns', `netns: "${path}" is ${owned.owner} (${owned.prefix}…), never adopted; adopt a namespace made by something else`);
  }
  const holder = adopterOf(state, path);
  if (holder !== undefined) {
    return fail('ALREADY_EXISTS', 'netns', `netns: "${path}" is already adopted by sandbox "${holder}"; one namespace is one sandbox`);
  }
  return ok(path);
}

/** A plain loop, like netns name checks: this runs for every new sandbox that adopts one. */
function adopterOf(state: StoreState, path: string): string | undefined {
  for (const sandbox of state.sandboxes.values()) if (sandbox.adoptedNetns === path) return sandbox.name;
  return undefined;
}
