/**
 * The lab's host plan: every name, address and command of a lab, computed from the
 * number of managers and agents alone. No I/O here, so the whole layout is unit-tested.
 */
import * as path from 'node:path';
import { networkNetnsPrefix } from '../../agent/kernel/names';
import { parseOwnerTag } from '../../agent/reconcile';
import { SANDBOX_FILES_LEDGER } from '../../agent/sandbox-files';
import { LAB_NETNS_PREFIX, SANDBOX_NETNS_PREFIX } from '../../proto/runtime/reserved';

export type HostRole = 'manager' | 'agent';

export interface HostPlan {
  name: string;
  role: HostRole;
  /** network namespace that plays the host */
  namespace: string;
  /** underlay address, 198.18.0.0/24 */
  address: string;
  /** the veth end left in the underlay namespace, enslaved to the bridge */
  underlayLink: string;
  /** everything the host keeps, its log and its daemon's data; wiped by `up` so each lab starts fresh */
  dir: string;
  /** stdout and stderr of the host's daemon */
  log: string;
  /** the daemon's argv, run inside the namespace */
  command: string[];
  /** From a release artifact: the config file the daemon is given, written from deploy/'s template before it starts. */
  config?: HostConfig;
  /** A joining daemon reads its token from this file (0600), never from argv, which `ps` shows to everyone. */
  joinToken?: { file: string; role: keyof LabJoinTokens };
}

export interface LabPlan {
  hosts: HostPlan[];
  /** host:port of every manager, comma-separated: what agents and the CLI are given */
  manager: string;
  labDir: string;
}

/** A daemon's setting: its long flag without `--`, which is also its key in a config file, and its value. */
/** A daemon flag and its value; BARE_FLAG as the value gives the flag alone (a switch such as --gossip). */
export type Setting = readonly [key: string, value: string];
export const BARE_FLAG = '';

/** A daemon's config file, as deploy/ writes one: its role's template filled with these settings. */
export interface HostConfig {
  file: string;
  template: string;
  settings: Setting[];
}

/** The join tokens `trellis cluster init` made for the lab's cluster. */
export interface LabJoinTokens {
  worker: string;
  manager: string;
}

export interface PlanInput {
  managers: number;
  agents: number;
  repoRoot: string;
  labDir: string;
  /** absolute path of the node binary the daemons run on */
  nodePath: string;
  /** run a sleeping stand-in instead of the trellis daemons (to test the lab itself) */
  standIn?: boolean;
  /** The agents' `--resync-interval` (e.g. "2s"); absent: the agent's default. */
  resyncInterval?: string;
  /**
   * The release artifact every daemon runs (absolute path), each given a config file written from
   * deploy/config's template of its role instead of flags; absent: the build in dist/, with flags.
   */
  release?: string;
  /** The agents run with --gossip (issue #16): they learn remote endpoints from each other. */
  gossip?: boolean;
}

/** Where the lab's cluster CA gives the CLI its admin certificate (TRELLIS_TLS_DIR inside the lab). */
export function adminDir(labDir: string): string {
  return path.join(path.resolve(labDir), 'admin');
}

/** The first manager's data directory: `trellis cluster init` prepares it before the lab starts. */
export function dataDir(hostDir: string): string {
  return path.join(hostDir, 'data');
}

/** Where `up` puts the join token of a host that joins (beside its data dir, not in it: the daemon owns that). */
export function joinTokenFile(hostDir: string): string {
  return path.join(hostDir, 'join-token');
}

export const NAMESPACE_PREFIX = LAB_NETNS_PREFIX;
export const UNDERLAY_NAMESPACE = `${NAMESPACE_PREFIX}underlay`;
export const UNDERLAY_BRIDGE = 'br0';
/** name of the host's underlay interface inside its namespace */
export const HOST_DEVICE = 'eth0';
export const UNDERLAY_PREFIX_LENGTH = 24;
export const MANAGER_PORT = 4240;
/** Each manager's Prometheus endpoint, on its own host address. */
export const MANAGER_METRICS_PORT = 4250;
/** Each agent's Prometheus endpoint, on its own host address. */
export const AGENT_METRICS_PORT = 4251;
/** Sandbox namespaces made by agents: the lab's, or any other agent's on the machine. */
export const SANDBOX_NAMESPACE_PREFIX = SANDBOX_NETNS_PREFIX;

const SUBNET = '198.18.0';
const FIRST_MANAGER_OCTET = 1;
const FIRST_AGENT_OCTET = 11;
const LAST_OCTET = 254;
export const MAX_MANAGERS = FIRST_AGENT_OCTET - FIRST_MANAGER_OCTET;
export const MAX_AGENTS = LAST_OCTET - FIRST_AGENT_OCTET + 1;

/** Exactly the namespaces a lab creates, whatever its size: `down` without a state file relies on it. */
const LAB_NAMESPACE_PATTERN = /^trlab-(underlay|[ma][0-9]+)$/;

export function isLabNamespace(name: string): boolean {
  return LAB_NAMESPACE_PATTERN.test(name);
}

export function isSandboxNamespace(name: string): boolean {
  return name.startsWith(SANDBOX_NAMESPACE_PREFIX);
}

function hostAddress(role: HostRole, index: number): string {
  return `${SUBNET}.${(role === 'manager' ? FIRST_MANAGER_OCTET : FIRST_AGENT_OCTET) + index - 1}`;
}

/**
 * An agent's network namespaces are named with a digest of its owner tag, in the lab its address.
 * The plan gives agents the same addresses whatever the lab's size, so every name a lab agent can
 * make is known without a state file, and no other owner's `trnw-` name ever matches.
 */
const LAB_NETWORK_NAMESPACE_PREFIXES: readonly string[] = range(MAX_AGENTS).map((i) => networkNetnsPrefix(hostAddress('agent', i)));

export function isLabNetworkNamespace(name: string): boolean {
  return LAB_NETWORK_NAMESPACE_PREFIXES.some((prefix) => name.startsWith(prefix));
}

const LAB_OWNERS: ReadonlySet<string> = new Set(range(MAX_AGENTS).map((i) => hostAddress('agent', i)));

/**
 * A sandbox namespace is a lab agent's when its loopback carries the owner tag (of a namespace
 * the agent created, or one it attached) of an address the plan gives agents.
 */
export function isLabSandboxLoopbackAlias(alias: string | undefined): boolean {
  const tag = parseOwnerTag(alias);
  return tag !== undefined && LAB_OWNERS.has(tag.owner);
}

/**
 * The ledgers in which lab agents list the /etc/netns directories they wrote, one in each agent's
 * state directory; `entries` are the names in the lab directory, so no state file is needed.
 */
export function labSandboxFileLedgers(labDir: string, entries: readonly string[]): string[] {
  return entries.filter((name) => /^a[0-9]+$/.test(name)).map((name) => path.join(dataDir(path.join(path.resolve(labDir), name)), SANDBOX_FILES_LEDGER));
}

export function cliPath(repoRoot: string): string {
  return path.join(repoRoot, 'dist', 'cli', 'main.js');
}

/** How the lab runs `trellis`: the release artifact when it has one, else the build in dist/. */
export function cliCommand(nodePath: string, repoRoot: string, release?: string): string[] {
  return [nodePath, release ?? cliPath(repoRoot)];
}

/** The directory whose `trellis` `lab exec` puts first on PATH: bin/ of the repository, or the lab's wrapper of its artifact. */
export function cliDir(repoRoot: string, labDir: string, release?: string): string {
  return release === undefined ? path.join(repoRoot, 'bin') : labBinDir(labDir);
}

/** The lab's own directories for a release: the wrapper `lab exec` runs, and its copies of artifacts. */
export function labBinDir(labDir: string): string {
  return path.join(path.resolve(labDir), 'bin');
}

export function releasesDir(labDir: string): string {
  return path.join(path.resolve(labDir), 'releases');
}

/** The lab's `trellis` on PATH when it runs from a release artifact. */
export function releaseWrapper(nodePath: string, artifact: string): string {
  return `#!/bin/sh\n# The lab's trellis: its release artifact, run by node.\nexec ${shellWord(nodePath)} ${shellWord(artifact)} "$@"\n`;
}

/** Where the lab keeps its copy of an artifact, by checksum: a rebuild meanwhile changes nothing a restart runs. */
export function releaseCopy(labDir: string, sha256: string): string {
  return path.join(releasesDir(labDir), sha256.slice(0, 16), 'trellis');
}

/** deploy/'s tools: the template of a role's config file and the script that fills it in. */
export function configTemplate(repoRoot: string, role: HostRole): string {
  return path.join(repoRoot, 'deploy', 'config', `${role}.yaml`);
}

export function renderConfigScript(repoRoot: string): string {
  return path.join(repoRoot, 'deploy', 'render-config.sh');
}

/** A daemon's argv: its settings as flags of the build, or a config file for the release artifact. */
export function daemonCommand(nodePath: string, program: string, role: HostRole, settings: readonly Setting[], config?: string): string[] {
  const given = config === undefined ? settings.flatMap(([key, value]) => (value === BARE_FLAG ? [`--${key}`] : [`--${key}`, value])) : ['--config', config];
  return [nodePath, program, role, ...given];
}

export const STAND_IN_COMMAND: readonly string[] = ['sleep', 'infinity'];

export function planLab(input: PlanInput): LabPlan {
  checkCount('managers', input.managers, 1, MAX_MANAGERS);
  checkCount('agents', input.agents, 0, MAX_AGENTS);
  if (input.gossip && input.release !== undefined) throw new Error('--gossip runs the build in dist/ with flags: it cannot be combined with --from-release (the release config templates have no gossip setting yet)');
  const labDir = path.resolve(input.labDir);
  const [, program = ''] = cliCommand(input.nodePath, input.repoRoot, input.release);
  const managerAddresses = range(input.managers).map((i) => `${hostAddress('manager', i)}:${MANAGER_PORT}`);
  const manager = managerAddresses.join(',');
  const firstManager = managerAddresses[0] ?? '';

  const host = (
    role: HostRole,
    index: number,
    daemonSettings: (name: string, address: string, dataDir: string, tokenFile: string) => Setting[],
  ): HostPlan => {
    const name = `${role === 'manager' ? 'm' : 'a'}${index}`;
    const address = hostAddress(role, index);
    const hostDir = path.join(labDir, name);
    const tokenFile = joinTokenFile(hostDir);
    const settings = daemonSettings(name, address, dataDir(hostDir), tokenFile);
    const config: HostConfig | undefined =
      input.release === undefined
        ? undefined
        : // The templates name system paths (/var/lib/trellis/admin): the lab keeps even those it does not use in its own directory.
          { file: path.join(hostDir, `${role}.yaml`), template: configTemplate(input.repoRoot, role), settings: role === 'manager' ? [...settings, ['admin-dir', adminDir(labDir)]] : settings };
    const joins = role === 'agent' || index > 1;
    return {
      name,
      role,
      namespace: `${NAMESPACE_PREFIX}${name}`,
      address,
      underlayLink: `${NAMESPACE_PREFIX}${name}`,
      dir: hostDir,
      log: path.join(hostDir, 'trellis.log'),
      command: input.standIn ? [...STAND_IN_COMMAND] : daemonCommand(input.nodePath, program, role, settings, config?.file),
      ...(config && !input.standIn ? { config } : {}),
      ...(joins ? { joinToken: { file: tokenFile, role: role === 'agent' ? 'worker' : 'manager' } } : {}),
    };
  };

  const managers = range(input.managers).map((i) =>
    host('manager', i, (_name, address, dataDir, tokenFile): Setting[] => [
      ['listen', `${address}:${MANAGER_PORT}`],
      ['data-dir', dataDir],
      ['metrics-listen', `${address}:${MANAGER_METRICS_PORT}`],
      // The first manager starts the cluster `cluster init` prepared; the others join it
      // (a no-op once their data dir holds state).
      ...(i === 1
        ? []
        : ([
            ['join', firstManager],
            ['join-token-file', tokenFile],
          ] as const)),
    ]),
  );
  const agents = range(input.agents).map((i) =>
    host('agent', i, (name, address, stateDir, tokenFile): Setting[] => [
      ['manager', manager],
      ['join-token-file', tokenFile],
      ['state-dir', stateDir],
      ['node', name],
      ['advertise-addr', address],
      ['underlay-device', HOST_DEVICE],
      ['metrics-listen', `${address}:${AGENT_METRICS_PORT}`],
      ...(input.resyncInterval === undefined ? [] : ([['resync-interval', input.resyncInterval]] as const)),
      ...(input.gossip ? ([['gossip', BARE_FLAG]] as const) : []),
    ]),
  );
  return { hosts: [...managers, ...agents], manager, labDir };
}

/** The CLI call whose answer tells whether every agent holds a session. */
export function nodeListCommand(cli: readonly string[], manager: string, labDir: string): string[] {
  return [...cli, '--manager', manager, '--tls-dir', adminDir(labDir), 'node', 'ls', '--format', 'json'];
}

/** The CLI call whose answer tells whether every manager has become a voting member. */
export function managerListCommand(cli: readonly string[], manager: string, labDir: string): string[] {
  return [...cli, '--manager', manager, '--tls-dir', adminDir(labDir), 'manager', 'ls', '--format', 'json'];
}

/** Environment for `lab exec`: the `trellis` of binDir (see cliDir) on PATH and the manager preset. */
export function execEnvironment(binDir: string, manager: string, labDir: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...base,
    PATH: base.PATH ? `${binDir}:${base.PATH}` : binDir,
    TRELLIS_MANAGER: manager,
    TRELLIS_TLS_DIR: adminDir(labDir),
  };
}

/** argv that runs `command` inside a namespace while keeping the shared mount namespace (unlike `ip netns exec`). */
export function inNamespace(namespace: string, command: readonly string[]): string[] {
  return ['nsenter', `--net=/run/netns/${namespace}`, '--', ...command];
}

function checkCount(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${what} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

/** A word for sh, quoted when it needs to be. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}
