import { Command, Option } from 'commander';
import { Control, CommandError } from './control-client';

export const defaultManager = '127.0.0.1:4240';

/** The managers named by --manager (a comma-separated list). */
export function managerList(command: Command): string[] {
  return command
    .optsWithGlobals<{ manager: string }>()
    .manager.split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
}

/** Runs `action` with a Control client for the --manager the user chose. */
export function withControl(command: Command, action: (control: Control) => Promise<void>): Promise<void> {
  const control = new Control(managerList(command));
  return action(control).finally(() => control.close());
}

export type OutputFormat = 'table' | 'json';

export function formatOption(): Option {
  return new Option('--format <format>', 'output format').choices(['table', 'json']).default('table');
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export { CommandError };
