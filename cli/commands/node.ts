import type { Command } from 'commander';
import { collect, withControl } from '../context';
import { keyValues } from '../option-parsers';
import { nodeJson, nodeStatusName, print, shortId } from '../output';
import { addInspectCommand, addListCommand, addRemoveCommand } from './object-commands';

interface UpdateOptions {
  availability?: string;
  labelAdd: string[];
  labelRm: string[];
}

export function addNodeCommands(program: Command): void {
  const node = program.command('node').description('inspect and manage cluster nodes');

  addListCommand(node, {
    description: 'list nodes',
    fetch: (control) => control.listAll((c) => c.listNodes, (page) => page.nodes),
    header: ['NODE ID', 'NAME', 'ADDRESS', 'STATUS', 'AVAILABILITY', 'APPLIED REVISION'],
    row: (n) => [
      shortId(n.id),
      n.name,
      n.advertiseAddr,
      nodeStatusName(n.status).replace('NODE_STATUS_', ''),
      n.availability,
      String(n.appliedRevision),
    ],
    json: nodeJson,
  });

  addInspectCommand(node, 'node', 'show a node: address, liveness, availability, labels (JSON)', (control, reference) =>
    control.call((c) => c.getNode, { node: reference }),
    nodeJson,
  );

  node
    .command('update')
    .description('change a node\'s availability (drain: no new sandboxes) or labels')
    .argument('<node>')
    .option('--availability <availability>', 'active or drain')
    .option('--label-add <key=value>', 'add or change a label (repeatable)', collect, [])
    .option('--label-rm <key>', 'remove a label (repeatable)', collect, [])
    .action((reference: string, options: UpdateOptions, command: Command) =>
      withControl(command, async (control) => {
        await control.call((c) => c.updateNode, {
          node: reference,
          availability: options.availability ?? '',
          labelAdd: keyValues('--label-add', options.labelAdd),
          labelRm: options.labelRm,
        });
        print(reference);
      }),
    );

  addRemoveCommand(
    node,
    'node',
    'remove a node that hosts no sandboxes and whose agent is stopped',
    (control, reference, force) => control.call((c) => c.removeNode, { node: reference, force }),
    'remove the node even while its agent is connected',
  );
}
