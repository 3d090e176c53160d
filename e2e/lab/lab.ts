/** The lab's commands: up, down, exec, stop/kill/start of one host, status. */
import { spawn, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { LabContext } from './context';
import { addHostAddress, createHost, createUnderlay, deleteNamespace, listNamespaces, loopbackAlias, namespacePids } from './namespaces';
import { SandboxFileWriter } from '../../agent/sandbox-files';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';
import { initCluster } from '../../manager/ca';
import {
  adminDir,
  cliCommand,
  cliDir,
  daemonCommand,
  dataDir,
  execEnvironment,
  inNamespace,
  isLabNamespace,
  isLabNetworkNamespace,
  isLabSandboxLoopbackAlias,
  isSandboxNamespace,
  labBinDir,
  labSandboxFileLedgers,
  managerListCommand,
  nodeListCommand,
  planLab,
  releasesDir,
  type LabJoinTokens,
  type LabPlan,
} from './plan';
import { isRunning, startDaemon, stopDaemon } from './processes';
import { waitForAgentsReady } from './readiness';
import { initClusterFromRelease, takeRelease, writeCliWrapper, writeConfig } from './release';
import { run } from './run';
import { findHost, readState, removeState, stateFromPlan, statePath, writeState, type HostState, type LabRelease, type LabState } from './state';

export interface UpOptions {
  managers: number;
  agents: number;
  readyTimeoutMs: number;
  /** run a sleeping stand-in instead of the trellis daemons and skip the readiness wait */
  standIn: boolean;
  /** the agents' `--resync-interval`; absent: the agent's default */
  resyncInterval?: string;
  /**
   * Run the daemons and the CLI from a release artifact, each daemon with a config file written
   * from deploy/'s templates; `path` absent: dist/release/trellis. Absent: the build in dist/.
   */
  fromRelease?: { path?: string };
  /** The agents run with --gossip. */
  gossip?: boolean;
}

/** How long a daemon gets to exit on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;
const NODE_LIST_TIMEOUT_MS = 5_000;
const DOWN_COMMAND = '`npm run lab -- down`';

export async function up(ctx: LabContext, options: UpOptions): Promise<LabState> {
  if (readState(ctx.labDir)) {
    throw new Error(`a lab is already up (${statePath(ctx.labDir)}); run ${DOWN_COMMAND} first`);
  }
  const leftovers = (await listNamespaces()).filter(isLabNamespace);
  if (leftovers.length > 0) {
    throw new Error(`lab namespaces already exist (${leftovers.join(', ')}); run ${DOWN_COMMAND} first`);
  }
  for (const leftover of [adminDir(ctx.labDir), labBinDir(ctx.labDir), releasesDir(ctx.labDir)]) {
    fs.rmSync(leftover, { recursive: true, force: true });
  }
  const release = options.fromRelease && takeRelease(ctx.repoRoot, ctx.labDir, options.fromRelease.path);
  const input = { ...options, repoRoot: ctx.repoRoot, labDir: ctx.labDir, nodePath: ctx.nodePath, release: release ? release.artifact : undefined };
  const plan = planLab(input);
  for (const host of plan.hosts) fs.rmSync(host.dir, { recursive: true, force: true });
  if (release) writeCliWrapper(ctx.repoRoot, ctx.labDir, ctx.nodePath, release);
  if (!options.standIn) writeJoinTokens(plan, await initLabCluster(ctx, plan, release));
  for (const host of plan.hosts) if (host.config) await writeConfig(ctx.repoRoot, host.config);
  // Recorded before anything exists, so `down` can clean up after a crash at any later point.
  const state = stateFromPlan(plan, release);
  writeState(state);
  try {
    await createUnderlay();
    for (const host of plan.hosts) await createHost(host);
    for (const host of state.hosts) {
      Object.assign(host, startDaemon(host));
      writeState(state);
    }
  } catch (error) {
    throw new Error(`${messageOf(error)}\nthe lab is partly up; clean it with ${DOWN_COMMAND}`);
  }
  if (!options.standIn) await waitUntilReady(ctx, state, options.readyTimeoutMs);
  return state;
}

/**
 * `trellis cluster init` for the first manager's data directory: the cluster's CA,
 * the admin certificate the lab's CLI uses, and the tokens the other hosts join with.
 */
async function initLabCluster(ctx: LabContext, layout: LabPlan, release: LabRelease | undefined): Promise<LabJoinTokens> {
  const first = layout.hosts.find((host) => host.role === 'manager');
  if (!first) throw new Error('a lab needs a manager');
  // From a release, its own `cluster init` writes the data dir its managers will read.
  if (release) return initClusterFromRelease(ctx.nodePath, release, dataDir(first.dir), adminDir(ctx.labDir));
  const created = await initCluster({ dataDir: dataDir(first.dir), adminDir: adminDir(ctx.labDir) });
  return created.tokens;
}

/** Each joining host's token, in a file only its owner reads: the daemons' argv name the file, not the token. */
function writeJoinTokens(plan: LabPlan, tokens: LabJoinTokens): void {
  for (const host of plan.hosts) {
    if (!host.joinToken) continue;
    fs.mkdirSync(host.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    fs.writeFileSync(host.joinToken.file, `${tokens[host.joinToken.role]}\n`, { mode: PRIVATE_FILE_MODE });
  }
}

async function waitUntilReady(ctx: LabContext, state: LabState, timeoutMs: number): Promise<void> {
  const queryHost = state.hosts[0];
  const cli = cliCommand(ctx.nodePath, ctx.repoRoot, state.release?.artifact);
  ctx.note(`waiting up to ${Math.round(timeoutMs / 1000)} s for every manager to vote and every agent to be ready`);
  try {
    await waitForAgentsReady({
      agentNames: state.hosts.filter((h) => h.role === 'agent').map((h) => h.name),
      managerCount: state.hosts.filter((h) => h.role === 'manager').length,
      timeoutMs,
      listNodes: () =>
        run(inNamespace(queryHost.namespace, nodeListCommand(cli, state.manager, ctx.labDir)), {
          timeoutMs: NODE_LIST_TIMEOUT_MS,
        }),
      listManagers: () =>
        run(inNamespace(queryHost.namespace, managerListCommand(cli, state.manager, ctx.labDir)), {
          timeoutMs: NODE_LIST_TIMEOUT_MS,
        }),
      fatalProblem: () => {
        const dead = state.hosts.find((h) => !isRunning(h));
        return dead && `the daemon of ${dead.name} (pid ${dead.pid}) exited`;
      },
    });
  } catch (error) {
    const logs = state.hosts.map((h) => `  ${h.name}: ${h.log}`).join('\n');
    throw new Error(`the lab is not ready: ${messageOf(error)}\nlogs:\n${logs}\nthe lab stays up for a look; clean it with ${DOWN_COMMAND}`);
  }
}

/**
 * Stops the daemons recorded in the state file, then deletes every namespace named like a lab's
 * (`trlab-underlay`, `trlab-m<k>`, `trlab-a<k>`: works without a state file, after a crash), the
 * network namespaces (`trnw-…`) of every address the plan gives agents, the sandbox namespaces
 * (`trsb-…`) tagged with such an address, and the /etc/netns directories the lab's agents listed
 * in their ledgers. Another agent's sandboxes on the same machine are left alone; an untagged
 * `trsb-…` namespace (an agent killed between making it and tagging it) is reported, not deleted.
 * Safe to run again and again.
 */
export async function down(ctx: LabContext): Promise<void> {
  const state = readState(ctx.labDir);
  const failures: string[] = [];
  if (state) {
    const stops = state.hosts.map((host) => stopDaemon(host, 'SIGTERM', STOP_GRACE_MS));
    for (const result of await Promise.allSettled(stops)) {
      if (result.status === 'rejected') failures.push(messageOf(result.reason));
    }
  }
  const doomed: string[] = [];
  for (const namespace of await listNamespaces()) {
    if (isLabNamespace(namespace) || isLabNetworkNamespace(namespace)) doomed.push(namespace);
    else if (isSandboxNamespace(namespace)) {
      const alias = await loopbackAlias(namespace);
      if (isLabSandboxLoopbackAlias(alias)) doomed.push(namespace);
      else if (alias === undefined) ctx.note(`${namespace} carries no owner tag: left in place; delete it with ip netns del if it is a lab's`);
    }
  }
  for (const namespace of doomed) {
    const pids = await namespacePids(namespace);
    if (pids.length > 0) {
      ctx.note(`processes we did not start are still in ${namespace} and keep running: ${pids.join(' ')}`);
    }
    await deleteNamespace(namespace);
  }
  // The lab agents' /etc files of their sandboxes (`ip netns del` leaves them behind).
  const entries = fs.existsSync(ctx.labDir) ? fs.readdirSync(ctx.labDir) : [];
  for (const ledger of labSandboxFileLedgers(ctx.labDir, entries)) new SandboxFileWriter(ledger).sync([]);
  if (failures.length > 0) throw new Error(`${failures.join('\n')}\nstate kept in ${statePath(ctx.labDir)}`);
  removeState(ctx.labDir);
}

/** Runs command inside a host, with `trellis` (the lab's artifact, when it runs one) on PATH and TRELLIS_MANAGER set; resolves to its exit code. */
export async function execInHost(
  ctx: LabContext,
  hostName: string,
  command: readonly string[],
  stdio: StdioOptions = 'inherit',
): Promise<number> {
  if (command.length === 0) throw new Error('exec needs a command: exec HOST -- CMD...');
  const state = requireState(ctx);
  const host = findHost(state, hostName);
  const [file, ...args] = inNamespace(host.namespace, command);
  const child = spawn(file, args, { stdio, env: execEnvironment(cliDir(ctx.repoRoot, ctx.labDir, state.release?.artifact), state.manager, ctx.labDir, process.env) });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}

/** SIGTERM waits for a clean exit (SIGKILL after a bound); SIGKILL is the crash a test wants to cause. */
export async function stopHost(ctx: LabContext, hostName: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<HostState> {
  return updateHost(ctx, hostName, async (host) => {
    if (!isRunning(host)) ctx.note(`${host.name} was not running`);
    await stopDaemon(host, signal, STOP_GRACE_MS);
    Object.assign(host, { pid: null, startTime: undefined, spawner: undefined });
  });
}

/**
 * Starts the host's daemon again with the very command `up` used; its log is appended to.
 * `env` is added to the daemon's environment for this start only (e.g. a test hook).
 * `fromRelease`, in a lab from a release: the artifact this host runs from now on, with the same
 * config file (one step of a rolling upgrade).
 */
export async function startHost(ctx: LabContext, hostName: string, env: Record<string, string> = {}, fromRelease?: string, advertiseAddr?: string): Promise<HostState> {
  return updateHost(ctx, hostName, async (host) => {
    if (isRunning(host)) throw new Error(`${host.name} is already running (pid ${host.pid}); stop it first`);
    if (advertiseAddr !== undefined) await moveAdvertiseAddress(host, advertiseAddr);
    if (fromRelease !== undefined) {
      if (!host.config) throw new Error(`start --from-release: ${host.name} runs the build in dist/ with flags; bring the lab up with \`up --from-release\` to run artifacts`);
      const release = takeRelease(ctx.repoRoot, ctx.labDir, fromRelease);
      host.command = daemonCommand(ctx.nodePath, release.artifact, host.role, [], host.config.file);
      ctx.note(`${host.name} runs ${release.source} (sha256 ${release.sha256.slice(0, 16)}) from now on`);
    }
    Object.assign(host, startDaemon(host, env));
  });
}

/**
 * The agent of `host` advertises `address` from now on: the host gets it as a second underlay
 * address (its first stays, and with it the metrics port and the CLI's way in), and the daemon's
 * --advertise-addr names it.
 */
async function moveAdvertiseAddress(host: HostState, address: string): Promise<void> {
  if (host.role !== 'agent') throw new Error(`start --advertise-addr: ${host.name} is a manager; only an agent's address can move`);
  if (host.config) throw new Error(`start --advertise-addr: ${host.name} runs a release with a config file; only a lab of the build in dist/ (flags) can move it`);
  if (!/^198\.18\.0\.(\d{1,3})$/.test(address) || Number(address.split('.')[3]) > 254) {
    throw new Error(`start --advertise-addr: ${address} is not an address of the lab's underlay (198.18.0.1-198.18.0.254)`);
  }
  const flag = host.command.indexOf('--advertise-addr');
  if (flag < 0) throw new Error(`start --advertise-addr: ${host.name}'s command has no --advertise-addr to replace`);
  await addHostAddress(host, address);
  host.command = host.command.map((part, index) => (index === flag + 1 ? address : part));
}

/** The state file, with pid null for every daemon that is no longer running. */
export function status(ctx: LabContext): LabState {
  const state = requireState(ctx);
  return { ...state, hosts: state.hosts.map((h) => ({ ...h, pid: isRunning(h) ? h.pid : null })) };
}

async function updateHost(ctx: LabContext, hostName: string, change: (host: HostState) => Promise<void>): Promise<HostState> {
  const state = requireState(ctx);
  const host = findHost(state, hostName);
  await change(host);
  writeState(state);
  return host;
}

function requireState(ctx: LabContext): LabState {
  const state = readState(ctx.labDir);
  if (!state) throw new Error(`no lab is up (no ${statePath(ctx.labDir)}); start one with \`npm run lab -- up\``);
  return state;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
