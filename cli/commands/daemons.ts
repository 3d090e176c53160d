import type { Command } from 'commander';
import type { Logger } from 'pino';
import { defaultAddressPools, type AddressPoolFlags } from '../address-pools';
import { applySettings, addSettingOptions } from '../config/command-settings';
import { gossipDhtPort, parseDuration, parseGossipPort, parseLbEngine, type DaemonRole } from '../config/daemon-settings';
import { managerList, tlsDir } from '../context';
import { commandJoinToken, type JoinTokenFlags } from '../join-token-source';
import { integerOption, parseReservedPorts } from '../option-parsers';
import { addManagerCommands } from './manager';
import { REMOVE_ALL_HELP, removeAgentObjects } from './agent-remove-all';
import { notifyReady } from '../../proto/runtime/systemd-ready';

/** Loaded only when a daemon runs: a CLI call needs no logger (see cli/startup.test.ts). */
function daemonLogger(name: string, level: string): Logger {
  const pino = require('pino') as typeof import('pino');
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

interface ManagerFlags extends AddressPoolFlags, JoinTokenFlags {
  listen: string;
  dataDir: string;
  join?: string;
  adminDir?: string;
  forceNewCluster?: boolean;
  logLevel: string;
  metricsListen: string;
  maxJoinsPerMinute?: string;
  gossipDhtPort: string;
}

interface AgentFlags extends JoinTokenFlags {
  node: string;
  advertiseAddr: string;
  underlayDevice: string;
  gatewaySubnet: string;
  resyncInterval: string;
  metricsListen: string;
  reservedPorts: string[];
  lb: string;
  gossip?: boolean;
  gossipPort: string;
  logLevel: string;
  stateDir: string;
}

/**
 * The daemon's flags with its environment and config file folded in (see ../config), and a
 * logger that has already said what was worth a warning there.
 */
function daemonSettings<Flags extends { logLevel: string }>(command: Command, role: DaemonRole): { options: Flags; logger: Logger } {
  const warnings = applySettings(command, role, process.env);
  const options = command.opts<Flags>();
  const logger = daemonLogger(`trellis-${role}`, options.logLevel);
  for (const warning of warnings) logger.warn(warning);
  return { options, logger };
}

export function addDaemonCommands(program: Command): void {
  const manager = program
    .command('manager')
    .description('run a manager: a Raft member serving the Control, Dispatcher and Raft APIs (see also: manager ls, manager leave)');
  addSettingOptions(manager, 'manager').action(async (_flags: unknown, command: Command) => {
    const { options, logger } = daemonSettings<ManagerFlags>(command, 'manager');
    const joinsPerMinute = options.maxJoinsPerMinute === undefined ? undefined : integerOption('--max-joins-per-minute', options.maxJoinsPerMinute);
    const { startManager } = require('../../manager/daemon') as typeof import('../../manager/daemon');
    const running = await startManager({
      listen: options.listen,
      dataDir: options.dataDir,
      join: options.join,
      joinToken: commandJoinToken(command, process.env, (message) => logger.warn(message)),
      adminDir: options.adminDir ?? tlsDir(command),
      forceNewCluster: options.forceNewCluster,
      defaultAddressPools: defaultAddressPools(options),
      metricsListen: options.metricsListen,
      joinsPerMinute,
      gossipDhtPort: gossipDhtPort(options.gossipDhtPort),
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

  const agent = program.command('agent').description("run an agent: keeps this node's kernel equal to the desired state");
  // An action of its own rather than a setting: it has no config key and no TRELLIS_ variable.
  agent.option('--remove-all', REMOVE_ALL_HELP);
  addSettingOptions(agent, 'agent').action(async (_flags: unknown, command: Command) => {
    const { options, logger } = daemonSettings<AgentFlags & { removeAll?: boolean }>(command, 'agent');
    if (options.removeAll) return removeAgentObjects(options);
    const { startAgent } = require('../../agent/daemon') as typeof import('../../agent/daemon');
    const running = await startAgent({
      managers: managerList(command),
      stateDir: options.stateDir,
      joinToken: commandJoinToken(command, process.env, (message) => logger.warn(message)),
      nodeName: options.node,
      advertiseAddr: options.advertiseAddr,
      underlayDevice: options.underlayDevice,
      gatewaySubnet: options.gatewaySubnet,
      resyncIntervalMs: parseDuration(options.resyncInterval),
      metricsListen: options.metricsListen,
      reservedPorts: parseReservedPorts(options.reservedPorts),
      lb: parseLbEngine(options.lb),
      gossip: options.gossip ? { port: parseGossipPort(options.gossipPort) } : undefined,
      logger,
      onSessionUp: () => readyForSystemd(logger, `agent ${options.node}: session with a manager up`),
    });
    stopOnSignal(logger, () => running.stop());
  });
}
