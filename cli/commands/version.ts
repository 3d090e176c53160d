import type { Command } from 'commander';
import { buildInfo, type BuildInfo } from '../../proto/runtime/build-info';
import { CommandError, formatOption, managerList, withControl, type OutputFormat } from '../context';
import { json, print } from '../output';

function lines(title: string, info: BuildInfo): string {
  return [
    `${title}:`,
    ` Version:   ${info.version}`,
    ` Commit:    ${info.commit || '(unknown)'}`,
    ` Built:     ${info.built || '(from a checkout, not a release artifact)'}`,
    ...(info.checksum ? [` Checksum:  ${info.checksum}`] : []),
  ].join('\n');
}

/** `trellis version`, like `docker version`: the CLI's build, then the manager's, asked over the API. */
export function addVersionCommand(program: Command): void {
  program
    .command('version')
    .description("show the CLI's version, commit and release checksum, and the manager's (asked over the API)")
    .option('--client', "the CLI's own only; no manager is asked")
    .addOption(formatOption())
    .action((options: { client?: boolean; format: OutputFormat }, command: Command) => {
      const client = buildInfo();
      if (options.client) return print(options.format === 'json' ? json({ client }) : lines('Client', client));
      if (options.format === 'table') print(lines('Client', client));
      return withControl(command, async (control) => {
        let manager: BuildInfo;
        try {
          manager = await control.call((c) => c.getVersion, {});
        } catch (error) {
          // The client's part is shown already; the manager's failure is the command's.
          if (error instanceof CommandError) throw new CommandError(`manager: ${error.message}`);
          throw error;
        }
        if (options.format === 'json') return print(json({ client, manager }));
        print(lines(`Manager (${managerList(command).join(', ')})`, manager));
      });
    });
}
