/** `npm run lab -- <command>`: hosts as network namespaces on an underlay bridge, a trellis daemon in each. */
import { Command, InvalidArgumentError } from 'commander';
import { defaultContext, LAB_DIR_ENV } from './context';
import { down, execInHost, startHost, status, stopHost, up } from './lab';
import { MAX_AGENTS, MAX_MANAGERS } from './plan';

function wholeNumber(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function environmentEntry(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(value);
  if (!match) throw new InvalidArgumentError('expected NAME=VALUE');
  return { ...previous, [match[1] ?? '']: match[2] ?? '' };
}

/** `--from-release` alone means the default artifact. */
function releaseOption(value: string | true | undefined): { path?: string } | undefined {
  if (value === undefined) return undefined;
  return value === true ? {} : { path: value };
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function buildProgram(): Command {
  const ctx = defaultContext();
  const program = new Command('lab')
    .description(`Trellis lab; its files go to ${ctx.labDir} (set ${LAB_DIR_ENV} to move them)`)
    .enablePositionalOptions();

  program
    .command('up')
    .description('create the underlay and the hosts, start their daemons, wait until every agent is ready, print the lab as JSON')
    .option('--managers <n>', `manager hosts m1..mN, 198.18.0.1 up (1-${MAX_MANAGERS})`, wholeNumber, 1)
    .option('--agents <m>', `agent hosts a1..aM, 198.18.0.11 up (0-${MAX_AGENTS})`, wholeNumber, 2)
    .option('--ready-timeout <seconds>', 'how long to wait for the agents to be ready', wholeNumber, 30)
    .option('--stand-in', 'run `sleep infinity` instead of the trellis daemons and skip the readiness wait (tests the lab itself)', false)
    .option('--resync-interval <duration>', "the agents' --resync-interval, e.g. 2s (default: the agent's own)")
    .option('--gossip', 'run the agents with --gossip: they learn remote endpoints from each other over hyperswarm', false)
    .option(
      '--from-release [path]',
      'run every daemon and the CLI from the release artifact (default dist/release/trellis, made by `npm run release`), each daemon with a config file written from deploy/config',
    )
    .action(async (options: { managers: number; agents: number; readyTimeout: number; standIn: boolean; resyncInterval?: string; gossip: boolean; fromRelease?: string | true }) => {
      printJson(
        await up(ctx, {
          managers: options.managers,
          agents: options.agents,
          readyTimeoutMs: options.readyTimeout * 1000,
          standIn: options.standIn,
          resyncInterval: options.resyncInterval,
          gossip: options.gossip,
          fromRelease: releaseOption(options.fromRelease),
        }),
      );
    });

  program
    .command('down')
    .description("stop the daemons, delete the lab's namespaces and its agents' sandbox (trsb-*) and network (trnw-*) namespaces; safe to repeat")
    .action(() => down(ctx));

  program
    .command('exec')
    .description('run a command inside a host, with trellis on PATH and TRELLIS_MANAGER set; exits with its code')
    .argument('<host>', 'host name, e.g. m1 or a2')
    .argument('<command...>', 'the command, after --')
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (host: string, command: string[]) => {
      // Ctrl-C reaches the command through the terminal; the lab waits for it to finish.
      process.on('SIGINT', () => undefined);
      process.on('SIGQUIT', () => undefined);
      // passThroughOptions hands over the `--` that separates the command from the lab's own arguments.
      process.exitCode = await execInHost(ctx, host, command[0] === '--' ? command.slice(1) : command);
    });

  program
    .command('stop')
    .description('SIGTERM the host\'s daemon and wait until it exits (SIGKILL after 10 s)')
    .argument('<host>')
    .action(async (host: string) => printJson(await stopHost(ctx, host, 'SIGTERM')));

  program
    .command('kill')
    .description('SIGKILL the host\'s daemon')
    .argument('<host>')
    .action(async (host: string) => printJson(await stopHost(ctx, host, 'SIGKILL')));

  program
    .command('start')
    .description('start the host\'s daemon again with the command `up` used')
    .argument('<host>')
    .option('--env <name=value>', 'add to the daemon\'s environment for this start only (repeatable), e.g. a test hook', environmentEntry, {})
    .option('--from-release <path>', 'in a lab from a release: run this artifact from now on, with the same config file (a step of a rolling upgrade)')
    .option('--advertise-addr <ip>', "an agent: advertise this underlay address (198.18.0.x) from now on; the host gets it beside its own")
    .action(async (host: string, options: { env: Record<string, string>; fromRelease?: string; advertiseAddr?: string }) =>
      printJson(await startHost(ctx, host, options.env, options.fromRelease, options.advertiseAddr)),
    );

  program
    .command('status')
    .description('print the lab as JSON (pid is null for a daemon that is not running)')
    .action(() => printJson(status(ctx)));

  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`lab: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
