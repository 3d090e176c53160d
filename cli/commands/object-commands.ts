import type { Command } from 'commander';
import type { Control } from '../control-client';
import { formatOption, withControl, type OutputFormat } from '../context';
import { json, print, table } from '../output';

/** How `GROUP ls` shows its objects: a table by default, JSON with --format json. */
export interface Listing<T> {
  description: string;
  fetch: (control: Control) => Promise<T[]>;
  header: string[];
  row: (item: T) => string[];
  /** The JSON form of an item, where it differs from the object itself. */
  json?: (item: T) => unknown;
}

export function addListCommand<T>(group: Command, listing: Listing<T>): void {
  group
    .command('ls')
    .description(listing.description)
    .addOption(formatOption())
    .action((options: { format: OutputFormat }, command: Command) =>
      withControl(command, async (control) => {
        const items = await listing.fetch(control);
        if (options.format === 'json') return print(json(listing.json ? items.map(listing.json) : items));
        print(table(listing.header, items.map(listing.row)));
      }),
    );
}

/** `GROUP inspect REF`: the object as JSON, like `docker network inspect`; `toJson` where its JSON form differs from the object. */
export function addInspectCommand<T>(
  group: Command,
  argument: string,
  description: string,
  fetch: (control: Control, reference: string) => Promise<T>,
  toJson: (item: T) => unknown = (item) => item,
): void {
  group
    .command('inspect')
    .description(description)
    .argument(`<${argument}>`)
    .addOption(formatOption().default('json'))
    .action((reference: string, _options: unknown, command: Command) =>
      withControl(command, async (control) => print(json(toJson(await fetch(control, reference))))),
    );
}

/**
 * `GROUP rm REF [--force]`: prints the reference removed, like `docker network rm`.
 * `force` describes a --force flag, for objects whose removal has one.
 */
export function addRemoveCommand(
  group: Command,
  argument: string,
  description: string,
  remove: (control: Control, reference: string, force: boolean) => Promise<unknown>,
  force?: string,
): void {
  const rm = group.command('rm').description(description).argument(`<${argument}>`);
  if (force !== undefined) rm.option('--force', force);
  rm.action((reference: string, options: { force?: boolean }, command: Command) =>
    withControl(command, async (control) => {
      await remove(control, reference, options.force === true);
      print(reference);
    }),
  );
}
