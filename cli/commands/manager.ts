import type { Command } from 'commander';
import { formatOption, withControl, type OutputFormat } from '../context';
import { json, print, table } from '../output';

/** `trellis manager ls|leave`: the Raft membership, as a manager sees it. */
export function addManagerCommands(manager: Command): void {
  manager
    .command('ls')
    .description('list managers: members, leader, term, applied index')
    .addOption(formatOption())
    .action((options: { format: OutputFormat }, command: Command) =>
      withControl(command, async (control) => {
        const answer = await control.call((c) => c.listManagers, {});
        if (options.format === 'json') return print(json(answer));
        print(
          table(
            ['MANAGER ID', 'ADDRESS', 'ROLE', 'LEADER', 'MATCH INDEX', 'APPLIED INDEX'],
            answer.managers.map((m) => [
              m.id,
              m.address,
              m.role,
              m.leader ? '*' : '',
              m.matchIndex ? String(m.matchIndex) : '-',
              m.appliedIndex ? String(m.appliedIndex) : '-',
            ]),
          ),
        );
        print(`term ${answer.term}, answered by ${answer.answeredBy}`);
      }),
    );

  manager
    .command('leave')
    .description('remove a manager from the cluster (default: the one --manager points at)')
    .option('--id <id>', 'the manager to remove (see `trellis manager ls`)')
    .action((options: { id?: string }, command: Command) =>
      withControl(command, async (control) => {
        await control.call((c) => c.removeManager, { id: options.id ?? '' });
      }),
    );
}
