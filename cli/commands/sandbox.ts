import type { Command } from 'commander';
import { withControl } from '../context';
import { portMapping, print, shortId } from '../output';
import { addInspectCommand, addListCommand, addRemoveCommand } from './object-commands';

export function addSandboxCommands(program: Command): void {
  const sandbox = program.command('sandbox').description('manage sandboxes (network namespaces on a node)');

  sandbox
    .command('create')
    .description('create a sandbox; the agent on NODE makes its network namespace, or adopts an existing one (--netns)')
    .argument('<name>')
    .requiredOption('--node <node>', 'node that hosts the sandbox')
    .option('--netns <path>', 'adopt a namespace made elsewhere: /run/netns/NAME or /proc/PID/ns/net (never deleted by Trellis)')
    .action((name: string, options: { node: string; netns?: string }, command: Command) =>
      withControl(command, async (control) => {
        const created = await control.call((c) => c.createSandbox, { name, node: options.node, netns: options.netns ?? '', networkMode: '', netnsFrom: '' });
        print(created.id);
      }),
    );

  addListCommand(sandbox, {
    description: 'list sandboxes',
    fetch: (control) => control.listAll((c) => c.listSandboxes, (page) => page.sandboxes),
    header: ['SANDBOX ID', 'NAME', 'NODE', 'NETWORKS', 'PORTS'],
    row: (s) => [
      shortId(s.id),
      s.name,
      s.node,
      s.endpoints.map((e) => `${e.networkName}=${e.ip}`).join(',') || '-',
      s.endpoints.flatMap((e) => e.publishedPorts.map((p) => portMapping(p.hostPort, p.port, p.protocol))).join(',') || '-',
    ],
  });

  addInspectCommand(sandbox, 'sandbox', 'show a sandbox, its namespace path and its endpoints with their published ports (JSON)', (control, reference) =>
    control.call((c) => c.getSandbox, { sandbox: reference }),
  );
  addRemoveCommand(sandbox, 'sandbox', "remove a sandbox and its endpoints; service backends among them drain first, and the sandbox goes when they have (inspect shows it removing)", (control, reference) =>
    control.call((c) => c.removeSandbox, { sandbox: reference }),
  );
}
