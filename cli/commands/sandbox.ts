import type { Command } from 'commander';
import { formatOption, withControl, type OutputFormat } from '../context';
import { json, print, shortId, table } from '../output';
import { addInspectCommand, addRemoveCommand } from './object-commands';

export function addSandboxCommands(program: Command): void {
  const sandbox = program.command('sandbox').description('manage sandboxes (network namespaces on a node)');

  sandbox
    .command('create')
    .description('create a sandbox; the agent on NODE makes its network namespace')
    .argument('<name>')
    .requiredOption('--node <node>', 'node that hosts the sandbox')
    .action((name: string, options: { node: string }, command: Command) =>
      withControl(command, async (control) => {
        const created = await control.call((c) => c.createSandbox, { name, node: options.node });
        print(created.id);
      }),
    );

  sandbox
    .command('ls')
    .description('list sandboxes')
    .addOption(formatOption())
    .action((options: { format: OutputFormat }, command: Command) =>
      withControl(command, async (control) => {
        const { sandboxes } = await control.call((c) => c.listSandboxes, {});
        if (options.format === 'json') return print(json(sandboxes));
        print(
          table(
            ['SANDBOX ID', 'NAME', 'NODE', 'NETWORKS'],
            sandboxes.map((s) => [
              shortId(s.id),
              s.name,
              s.node,
              s.endpoints.map((e) => `${e.networkName}=${e.ip}`).join(',') || '-',
            ]),
          ),
        );
      }),
    );

  addInspectCommand(sandbox, 'sandbox', 'show a sandbox, its namespace path and its endpoints (JSON)', (control, reference) =>
    control.call((c) => c.getSandbox, { sandbox: reference }),
  );
  addRemoveCommand(sandbox, 'sandbox', 'remove a sandbox and its endpoints', (control, reference) =>
    control.call((c) => c.removeSandbox, { sandbox: reference }),
  );
}
