import { Command } from 'commander';
import { addDaemonCommands } from './commands/daemons';
import { addNetworkCommands } from './commands/network';
import { addNodeCommands } from './commands/node';
import { addSandboxCommands } from './commands/sandbox';
import { addServiceCommands } from './commands/service';
import { addClusterCommands } from './commands/cluster';
import { addVersionCommand } from './commands/version';
import { addCompletionCommand } from './commands/completion';
import { addConfigCommands } from './commands/config';
import { addExamples } from './examples';
import { defaultManager, defaultTlsDir } from './context';

/** The whole command tree of `trellis`; building it loads no command's implementation. */
export function buildProgram(): Command {
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
  addConfigCommands(program);
  addVersionCommand(program);
  addCompletionCommand(program);
  addExamples(program);
  return program;
}
