import type { Command } from 'commander';
import type { Control } from '../control-client';
import { formatOption, withControl } from '../context';
import { json, print } from '../output';

/** `GROUP inspect REF`: the object as JSON, like `docker network inspect`. */
export function addInspectCommand(
  group: Command,
  argument: string,
  description: string,
  fetch: (control: Control, reference: string) => Promise<unknown>,
): void {
  group
    .command('inspect')
    .description(description)
    .argument(`<${argument}>`)
    .addOption(formatOption().default('json'))
    .action((reference: string, _options: unknown, command: Command) =>
      withControl(command, async (control) => print(json(await fetch(control, reference)))),
    );
}

/** `GROUP rm REF`: prints the reference removed, like `docker network rm`. */
export function addRemoveCommand(
  group: Command,
  argument: string,
  description: string,
  remove: (control: Control, reference: string) => Promise<unknown>,
): void {
  group
    .command('rm')
    .description(description)
    .argument(`<${argument}>`)
    .action((reference: string, _options: unknown, command: Command) =>
      withControl(command, async (control) => {
        await remove(control, reference);
        print(reference);
      }),
    );
}
