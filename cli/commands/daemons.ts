import type { Command } from 'commander';
import pino, { type Logger } from 'pino';
import { startAgent } from '../../agent/daemon';
import { DEFAULT_GATEWAY_SUBNET, parseGatewaySubnet } from '../../agent/reconcile';
import { startManager } from '../../manager/daemon';
import { DEFAULT_JOINS_PER_MINUTE } from '../../manager/ca';
import { parseListen } from '../../proto/runtime/metrics-http';
import { BUILT_IN_ADDRESS_POOLS, Store, type AddressPoolRecord } from '../../manager/store';
import { collect, CommandError, managerList, tlsDir } from '../context';
import { JOIN_TOKEN_ENV, joinTokenFrom, type JoinTokenFlags } from '../join-token-source';
import { integerOption, parseReservedPorts } from '../option-parsers';
import { addManagerCommands } from './manager';
import { REMOVE_ALL_HELP, removeAgentObjects } from './agent-remove-all';
import { notifyReady } from '../../proto/runtime/systemd-ready';

function daemonLogger(name: string, level: string): Logger {
  return pino({ name, level });
}

/** Stops the daemon cleanly on SIGTERM/SIGINT so that systemd and the lab can restart it. */
function stopOnSignal(logger: Logger, stop: () => Promise<void>): void {
  const handler = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/** The units are Type=notify: they count as started once the manager serves (joined) or the agent's session is up. */
function readyForSystemd(logger: Logger, status: string): void {
  notifyReady(status).catch((error: unknown) => logger.warn({ err: error }, 'could not tell systemd this daemon is ready'));
}

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) throw new CommandError(`--resync-interval: "${text}" is not a duration; use e.g. 30s or 500ms`);
  const unit = { ms: 1, s: 1000, m: 60_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * unit;
}

/** Checked before the daemon starts, so a typo is one line, not a stack. */
function checkMetricsListen(listen: string): void {
  if (!listen) return;
  try {
    parseListen(listen);
  } catch (error) {
    throw new CommandError(error instanceof Error ? error.message : String(error));
  }
}

export interface AddressPoolFlags {
  defaultAddrPool: string[];
  defaultAddrPoolMaskLength?: string;
}

interface ManagerFlags extends AddressPoolFlags, JoinTokenFlags {
  listen: string;
  dataDir: string;
  join?: string;
  adminDir?: string;
  forceNewCluster?: boolean;
  logLevel: string;
  metricsListen: string;
  maxJoinsPerMinute?: string;
}

/** Like `docker swarm init --default-addr-pool`: a mask length alone cuts the built-in pool differently. */
export function defaultAddressPools(flags: AddressPoolFlags): AddressPoolRecord[] | undefined {
  if (flags.defaultAddrPool.length === 0 && flags.defaultAddrPoolMaskLength === undefined) return undefined;
  const [builtIn] = BUILT_IN_ADDRESS_POOLS;
  const size =
    flags.defaultAddrPoolMaskLength === undefined
      ? (builtIn?.size ?? 24)
      : integerOption('--default-addr-pool-mask-length', flags.defaultAddrPoolMaskLength, { min: 0, max: 32 });
  const bases = flags.defaultAddrPool.length > 0 ? flags.defaultAddrPool : BUILT_IN_ADDRESS_POOLS.map((pool) => pool.base);
  const pools = bases.map((base) => ({ base, size }));
  // The store checks them at bootstrap too; checking here turns a refusal into one line instead of a stack.
  const checked = new Store().apply({ type: 'setDefaultAddressPools', pools });
  if (!checked.ok) throw new CommandError(checked.error.message);
  return pools;
}

export function addDaemonCommands(program: Command): void {
  const manager = program
    .command('manager')
    .description('run a manager: a Raft member serving the Control, Dispatcher and Raft APIs (see also: manager ls, manager leave)')
    .option('--listen <host:port>', 'address to serve gRPC on; other managers and agents reach this one there', '127.0.0.1:4240')
    .option('--data-dir <dir>', 'where the Raft log and snapshots live', '/var/lib/trellis/manager')
    .option('--join <host:port>', 'join the cluster of this manager (as a learner, promoted once caught up)')
    .option('--join-token-file <path>', `with --join, the first time: a file holding the token \`trellis cluster join-token manager\` prints (or set ${JOIN_TOKEN_ENV})`)
    .option('--join-token <token>', `the same token on the command line, where \`ps\` shows it to every local user (prefer --join-token-file or ${JOIN_TOKEN_ENV})`)
    .option('--admin-dir <dir>', 'when this manager creates a new cluster itself: where the CLI\'s admin certificate goes (default: --tls-dir)')
    .option('--force-new-cluster', "recover this manager's committed state into a new one-member cluster")
    .option('--default-addr-pool <cidr>', 'pool networks without --subnet get theirs from (repeatable; new clusters only; default 10.0.0.0/8)', collect, [])
    .option('--default-addr-pool-mask-length <n>', 'prefix length of the subnets cut from the pools (new clusters only; default 24)')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (default: off)', '')
    .option('--max-joins-per-minute <n>', `certificates one join token may get from this manager per minute (default ${DEFAULT_JOINS_PER_MINUTE})`)
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (options: ManagerFlags, command: Command) => {
      if (/^(0\.0\.0\.0|\[::\]):/.test(options.listen)) {
        throw new CommandError(`--listen: "${options.listen}" is not an address other managers can reach; give this host's address, e.g. 198.18.0.1:4240`);
      }
      checkMetricsListen(options.metricsListen);
      const joinsPerMinute = options.maxJoinsPerMinute === undefined ? undefined : integerOption('--max-joins-per-minute', options.maxJoinsPerMinute);
      if (joinsPerMinute === 0) throw new CommandError('--max-joins-per-minute: 0 would let no node join; give 1 or more');
      const logger = daemonLogger('trellis-manager', options.logLevel);
      const running = await startManager({
        listen: options.listen,
        dataDir: options.dataDir,
        join: options.join,
        joinToken: joinTokenFrom(options, process.env, (message) => logger.warn(message)),
        adminDir: options.adminDir ?? tlsDir(command),
        forceNewCluster: options.forceNewCluster,
        defaultAddressPools: defaultAddressPools(options),
        metricsListen: options.metricsListen,
        joinsPerMinute,
        logger,
        onExit: () => {
          logger.warn('this manager left the cluster; exiting');
          void running.close().finally(() => process.exit());
        },
      });
      stopOnSignal(logger, () => running.close());
      readyForSystemd(logger, `manager ${running.id} serving at ${running.address}`);
    });
  addManagerCommands(manager);

  program
    .command('agent')
    .description("run an agent: keeps this node's kernel equal to the desired state")
    .requiredOption('--node <name>', 'name of this node')
    .requiredOption('--advertise-addr <ip>', 'underlay IPv4 address other nodes reach this one at (VXLAN endpoint)')
    .option('--underlay-device <dev>', 'underlay interface VXLAN traffic leaves through', 'eth0')
    .option('--gateway-subnet <cidr>', "subnet of the trellis_gw bridge, sandboxes' way out (masqueraded)", DEFAULT_GATEWAY_SUBNET)
    .option('--join-token-file <path>', `the first time: a file holding the token \`trellis cluster join-token worker\` prints (or set ${JOIN_TOKEN_ENV})`)
    .option('--join-token <token>', `the same token on the command line, where \`ps\` shows it to every local user (prefer --join-token-file or ${JOIN_TOKEN_ENV})`)
    .option('--state-dir <dir>', "where the agent keeps the node's certificate", '/var/lib/trellis/agent')
    .option('--resync-interval <duration>', 'period of the level-triggered repair pass', '30s')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (default: off)', '')
    .option('--reserved-ports <list>', "ports of this node no sandbox may publish, PORT[/tcp|udp] comma-separated (repeatable; the metrics port is reserved by itself)", collect, [])
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--remove-all', REMOVE_ALL_HELP)
    .action(
      async (
        options: JoinTokenFlags & {
          removeAll?: boolean;
          node: string;
          advertiseAddr: string;
          underlayDevice: string;
          gatewaySubnet: string;
          resyncInterval: string;
          metricsListen: string;
          reservedPorts: string[];
          logLevel: string;
          stateDir: string;
        },
        command: Command,
      ) => {
        if (options.removeAll) return removeAgentObjects(options);
        checkMetricsListen(options.metricsListen);
        const gatewaySubnet = parseGatewaySubnet(options.gatewaySubnet);
        if (typeof gatewaySubnet === 'string') throw new CommandError(gatewaySubnet);
        const reservedPorts = parseReservedPorts(options.reservedPorts);
        const logger = daemonLogger('trellis-agent', options.logLevel);
        const agent = await startAgent({
          managers: managerList(command),
          stateDir: options.stateDir,
          joinToken: joinTokenFrom(options, process.env, (message) => logger.warn(message)),
          nodeName: options.node,
          advertiseAddr: options.advertiseAddr,
          underlayDevice: options.underlayDevice,
          gatewaySubnet: options.gatewaySubnet,
          resyncIntervalMs: parseDuration(options.resyncInterval),
          metricsListen: options.metricsListen,
          reservedPorts,
          logger,
          onSessionUp: () => readyForSystemd(logger, `agent ${options.node}: session with a manager up`),
        });
        stopOnSignal(logger, () => agent.stop());
      },
    );
}
