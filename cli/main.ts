#!/usr/bin/env node
import { Command } from 'commander';
import { addDaemonCommands } from './commands/daemons';
import { addNetworkCommands } from './commands/network';
import { addNodeCommands } from './commands/node';
import { addSandboxCommands } from './commands/sandbox';
import { addServiceCommands } from './commands/service';
import { CommandError, defaultManager } from './context';

const program = new Command('trellis')
  .description('Trellis: multi-host overlay networks')
  .option('--manager <host:port,...>', 'managers to talk to, comma-separated (env TRELLIS_MANAGER)', process.env.TRELLIS_MANAGER ?? defaultManager)
  .showHelpAfterError();

addNetworkCommands(program);
addSandboxCommands(program);
addServiceCommands(program);
addNodeCommands(program);
addDaemonCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommandError) {
    process.stderr.write(`Error: ${error.message}\n`);
  } else {
    process.stderr.write(`Error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
});
