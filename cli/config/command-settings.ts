import { Option, type Command } from 'commander';
import { collect, CommandError } from '../context';
import { DAEMON_SETTINGS, type DaemonRole } from './daemon-settings';
import { attributeName, envName, resolveSettings, type Resolution, type SettingDefinition, type SettingValue } from './settings';

/** The flag of a setting, its help naming the environment variable too. */
function settingOption(definition: SettingDefinition): Option {
  const help = `${definition.help} (env ${envName(definition.key)})`;
  if (definition.kind === 'boolean') return new Option(`--${definition.key}`, help);
  const option = new Option(`--${definition.key} <${definition.placeholder}>`, help);
  if (definition.kind === 'list') return option.argParser(collect).default([...definition.default]);
  if (definition.choices) option.choices(definition.choices);
  return definition.default === undefined ? option : option.default(definition.default);
}

/**
 * The role's settings as options of its command, and --config. A global setting (--manager) is
 * the program's option; `withGlobals` adds it here too, for a command standing alone.
 */
export function addSettingOptions(command: Command, role: DaemonRole, withGlobals = false): Command {
  const { definitions, defaultFile } = DAEMON_SETTINGS[role];
  for (const definition of definitions) if (withGlobals || !definition.global) command.addOption(settingOption(definition));
  return command.option('--config <file>', `YAML file of these settings, keys named as the flags (default ${defaultFile}, read if it exists)`);
}

/** The command, or the ancestor, that has the setting's option. */
function owner(command: Command, definition: SettingDefinition): Command {
  const name = attributeName(definition.key);
  for (let at: Command | null = command; at; at = at.parent) {
    if (at.options.some((option) => option.attributeName() === name)) return at;
  }
  return command;
}

/** The command's settings from its flags, `env` and its config file (--config, else the role's default file when there is one). */
export function resolveCommandSettings(command: Command, role: DaemonRole, env: NodeJS.ProcessEnv, configPath?: string): Resolution {
  const { definitions, defaultFile } = DAEMON_SETTINGS[role];
  const named = configPath ?? command.opts<{ config?: string }>().config;
  // The YAML parser is loaded only when a daemon starts or a file is checked, never for a CLI call.
  const { readConfig } = require('./config-file') as typeof import('./config-file');
  const file = readConfig(named ?? defaultFile, named !== undefined);
  const flags = new Map<string, SettingValue>();
  for (const definition of definitions) {
    const at = owner(command, definition);
    const name = attributeName(definition.key);
    if (at.getOptionValueSource(name) === 'cli') flags.set(definition.key, at.getOptionValue(name) as SettingValue);
  }
  return resolveSettings(definitions, { flags, env, file, defaultFile });
}

/**
 * Puts the settings from the environment and the config file into the command's options, so
 * that its action reads one set of values; refuses the whole start when anything is wrong.
 * Returns the warnings, for the daemon's log.
 */
export function applySettings(command: Command, role: DaemonRole, env: NodeJS.ProcessEnv): readonly string[] {
  const resolution = resolveCommandSettings(command, role, env);
  if (resolution.errors.length > 0) throw new CommandError(resolution.errors.join('\n'));
  for (const { definition, value, source } of resolution.settings) {
    if (source !== 'env' && source !== 'file') continue;
    const copy = Array.isArray(value) ? [...(value as readonly string[])] : value;
    owner(command, definition).setOptionValueWithSource(attributeName(definition.key), copy, source === 'file' ? 'config' : 'env');
  }
  return resolution.warnings;
}
