#!/usr/bin/env node
import { Command } from 'commander';
import { addDaemonCommands } from './commands/daemons';
import { addNetworkCommands } from './commands/network';
import { addNodeCommands } from './commands/node';
import { addSandboxCommands } from './commands/sandbox';
import { addServiceCommands } from './commands/service';
import { addClusterCommands } from './commands/cluster';
import { addVersionCommand } from './commands/version';
import { addCompletionCommand } from './commands/completion';
import { CommandError, defaultManager, defaultTlsDir } from './context';
import { JoinTokenError } from '../proto/runtime/tls/join-token';

const program = new Command('trellis')
  .description('Trellis: multi-host overlay networks')
  .option('--manager <host:port,...>', 'managers to talk to, comma-separated (env TRELLIS_MANAGER)', process.env.TRELLIS_MANAGER ?? defaultManager)
  .option('--tls-dir <dir>', 'the admin certificate: ca.crt, admin.crt, admin.key, as `trellis cluster init` writes them (env TRELLIS_TLS_DIR)', defaultTlsDir())
  .showHelpAfterError();

addNetworkCommands(program);
addSandboxCommands(program);
addServiceCommands(program);
addNodeCommands(program);
addClusterCommands(program);
addDaemonCommands(program);
addVersionCommand(program);
addCompletionCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // A refused join token is the user's to fix, like any other bad flag: one line, no stack.
  if (error instanceof CommandError || error instanceof JoinTokenError) {
    process.stderr.write(`Error: ${error.message}\n`);
  } else {
    process.stderr.write(`Error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
});
