import type { Command } from 'commander';
import { nodeStatusToJSON } from '../../proto/gen/trellis/v1/types';
import { nodeJson, shortId } from '../output';
import { addListCommand } from './object-commands';

export function addNodeCommands(program: Command): void {
  const node = program.command('node').description('inspect cluster nodes');

  addListCommand(node, {
    description: 'list nodes',
    fetch: async (control) => (await control.call((c) => c.listNodes, {})).nodes,
    header: ['NODE ID', 'NAME', 'ADDRESS', 'STATUS', 'APPLIED REVISION'],
    row: (n) => [shortId(n.id), n.name, n.advertiseAddr, nodeStatusToJSON(n.status).replace('NODE_STATUS_', ''), String(n.appliedRevision)],
    json: nodeJson,
  });
}
