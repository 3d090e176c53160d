import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { addSettingOptions, resolveCommandSettings } from '../config/command-settings';
import type { DaemonRole } from '../config/daemon-settings';
import { envName, type ResolvedSetting } from '../config/settings';
import { CommandError, formatOption, type OutputFormat } from '../context';
import { json, print, table } from '../output';

/** manager.yaml, trellis-agent.yaml…: the role in the file's name, when it names exactly one. */
function roleOf(file: string, given: DaemonRole | undefined): DaemonRole {
  if (given) return given;
  const name = basename(file);
  const roles = (['manager', 'agent'] as const).filter((role) => name.includes(role));
  const [role] = roles;
  if (role && roles.length === 1) return role;
  throw new CommandError(`--role: cannot tell from the name "${name}" whether it configures a manager or an agent; give --role manager or --role agent`);
}

/** The daemon flags after `--`, parsed by the daemon's own options. */
function daemonCommand(role: DaemonRole, flags: readonly string[]): Command {
  const command = addSettingOptions(new Command(role), role, true)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  try {
    command.parse([...flags], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new CommandError(error.message.replace(/^error: /, ''));
    throw error;
  }
  return command;
}

function shown(setting: ResolvedSetting): string | boolean | readonly string[] | null {
  if (setting.value === undefined) return null;
  return setting.definition.secret ? '(hidden)' : setting.value;
}

function sourceOf(setting: ResolvedSetting): string {
  if (setting.source === 'file') return `file:${setting.line}`;
  if (setting.source === 'env') return `env ${envName(setting.definition.key)}`;
  return setting.source;
}

function cell(value: ReturnType<typeof shown>): string {
  if (value === null) return '-';
  if (value === '') return '""';
  return Array.isArray(value) ? value.join(',') || '[]' : String(value);
}

/** `trellis config check FILE`: what a daemon would run with, or why it would refuse to start. */
export function addConfigCommands(program: Command): void {
  program
    .command('config')
    .description('daemon config files (/etc/trellis/manager.yaml, /etc/trellis/agent.yaml)')
    .command('check')
    .description(
      'read a config file as `trellis manager|agent --config FILE` would, with the TRELLIS_* environment and any daemon flags given after --; ' +
        'print each setting and where it came from (flag > env > file > default), or every problem and exit 1',
    )
    .argument('<file>', 'the YAML config file')
    .argument('[flags...]', 'daemon flags after --, e.g. -- --log-level debug')
    .addOption(new Option('--role <role>', 'whose file it is (default: from the file name)').choices(['manager', 'agent']))
    .addOption(formatOption())
    .action((file: string, flags: string[], options: { role?: DaemonRole; format: OutputFormat }) => {
      const role = roleOf(file, options.role);
      const resolution = resolveCommandSettings(daemonCommand(role, flags), role, process.env, file);
      if (resolution.errors.length > 0) throw new CommandError(resolution.errors.join('\n'));
      for (const warning of resolution.warnings) process.stderr.write(`Warning: ${warning}\n`);
      if (options.format === 'json') {
        const settings = Object.fromEntries(resolution.settings.map((setting) => [setting.definition.key, { value: shown(setting), source: setting.source, ...(setting.line ? { line: setting.line } : {}) }]));
        return print(json({ role, file, settings, warnings: resolution.warnings }));
      }
      print(table(['SETTING', 'VALUE', 'FROM'], resolution.settings.map((setting) => [setting.definition.key, cell(shown(setting)), sourceOf(setting)])));
    });
}
