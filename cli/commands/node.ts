import type { Command } from 'commander';
import { nodeStatusToJSON } from '../../proto/gen/trellis/v1/types';
import { formatOption, withControl, type OutputFormat } from '../context';
import { json, nodeJson, print, shortId, table } from '../output';

export function addNodeCommands(program: Command): void {
  const node = program.command('node').description('inspect cluster nodes');

  node
    .command('ls')
    .description('list nodes')
    .addOption(formatOption())
    .action((options: { format: OutputFormat }, command: Command) =>
      withControl(command, async (control) => {
        const { nodes } = await control.call((c) => c.listNodes, {});
        if (options.format === 'json') return print(json(nodes.map(nodeJson)));
        print(
          table(
            ['NODE ID', 'NAME', 'ADDRESS', 'STATUS', 'APPLIED REVISION'],
            nodes.map((n) => [
              shortId(n.id),
              n.name,
              n.advertiseAddr,
              nodeStatusToJSON(n.status).replace('NODE_STATUS_', ''),
              String(n.appliedRevision),
            ]),
          ),
        );
      }),
    );
}
