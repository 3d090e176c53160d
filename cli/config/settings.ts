/*
 * A daemon's settings from four places, in the order flannel and etcd use: a flag beats the
 * environment (TRELLIS_*), which beats the config file, which beats the default. One definition
 * per setting names it everywhere: `--data-dir`, TRELLIS_DATA_DIR and `data-dir:` in the file.
 */

export type SettingValue = string | boolean | readonly string[];
export type SettingSource = 'default' | 'file' | 'env' | 'flag';

interface SettingBase {
  /** The long flag without `--`: also the file's key and, as TRELLIS_UPPER_SNAKE, the environment variable. */
  readonly key: string;
  readonly help: string;
  readonly required?: boolean;
  /** Settings of one group are ways to give the same thing (a token, or a file holding it): one layer gives one. */
  readonly group?: string;
  /** Never printed back, and a file holding it should not be readable by every user. */
  readonly secret?: boolean;
  /** An option of the whole program (`trellis --manager … agent`), not of the daemon's command. */
  readonly global?: boolean;
}

/** Throws an Error whose message starts with `--key: ` when the value is not acceptable: the flag's own check. */
type Check<T> = (value: T) => void;

export interface TextSetting extends SettingBase {
  /** integer: a YAML number in the file; csv: one comma-separated flag, a YAML list in the file. */
  readonly kind: 'string' | 'integer' | 'csv';
  readonly placeholder: string;
  readonly default?: string;
  readonly choices?: readonly string[];
  readonly check?: Check<string>;
}

export interface BooleanSetting extends SettingBase {
  readonly kind: 'boolean';
}

/** A repeatable flag, a YAML list in the file, comma-separated in the environment. */
export interface ListSetting extends SettingBase {
  readonly kind: 'list';
  readonly placeholder: string;
  readonly default: readonly string[];
  readonly check?: Check<readonly string[]>;
}

export type SettingDefinition = TextSetting | BooleanSetting | ListSetting;

/** One top-level `key: value` of a config file, as YAML read it. */
export interface FileEntry {
  readonly key: string;
  readonly value: unknown;
  readonly line: number;
  /** The line of each item when the value is a list. */
  readonly itemLines?: readonly number[];
}

export interface ConfigFile {
  readonly path: string;
  readonly entries: readonly FileEntry[];
  /** Syntax errors, already `PATH:LINE: …`. */
  readonly errors: readonly string[];
  readonly worldReadable: boolean;
}

export interface Layers {
  /** Only the values given on the command line. */
  readonly flags: ReadonlyMap<string, SettingValue>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly file?: ConfigFile;
  /** The file the role reads when it exists, named in messages when there was none. */
  readonly defaultFile?: string;
}

export interface ResolvedSetting {
  readonly definition: SettingDefinition;
  readonly value: SettingValue | undefined;
  readonly source: SettingSource;
  /** The config file's line, when the value came from there. */
  readonly line?: number;
}

export interface Resolution {
  readonly settings: readonly ResolvedSetting[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

interface Candidate {
  readonly value: SettingValue;
  readonly source: Exclude<SettingSource, 'default'>;
  readonly line?: number;
}

const RANK: Record<Candidate['source'], number> = { flag: 3, env: 2, file: 1 };

export function envName(key: string): string {
  return `TRELLIS_${key.toUpperCase().replace(/-/g, '_')}`;
}

/** How commander names an option's value: data-dir → dataDir. */
export function attributeName(key: string): string {
  return key.replace(/-([a-z])/g, (_dash, letter: string) => letter.toUpperCase());
}

export function resolveSettings(definitions: readonly SettingDefinition[], layers: Layers): Resolution {
  const errors: string[] = [...(layers.file?.errors ?? [])];
  const warnings: string[] = [];
  const candidates = new Map<string, Candidate[]>(definitions.map((definition) => [definition.key, []]));
  /** Keys given somewhere with a value that was refused: saying they are missing too would be noise. */
  const refused = new Set<string>();
  const refuse = (key: string, message: string) => {
    errors.push(message);
    refused.add(key);
  };
  const offer = (definition: SettingDefinition, candidate: Candidate, label: string) => {
    const problem = checkValue(definition, candidate.value);
    if (problem !== undefined) refuse(definition.key, `${label}: ${problem}`);
    else candidates.get(definition.key)?.push(candidate);
  };

  const file = layers.file;
  if (file) {
    const known = new Map(definitions.map((definition) => [definition.key, definition]));
    for (const entry of file.entries) {
      const label = `${file.path}:${entry.line}: key "${entry.key}"`;
      const definition = known.get(entry.key);
      if (!definition) {
        errors.push(`${label}: ${unknownKey(entry.key, definitions)}`);
        continue;
      }
      const read = fileValue(definition, entry);
      if ('problem' in read) {
        refuse(entry.key, `${file.path}:${read.line}: key "${entry.key}": ${read.problem}`);
        continue;
      }
      offer(definition, { value: read.value, source: 'file', line: entry.line }, label);
      if (definition.secret && file.worldReadable) {
        warnings.push(
          `${label}: ${file.path} is readable by every local user; chmod o-r ${file.path}, or put the value in a file of its own (mode 600) and name that file instead`,
        );
      }
    }
  }
  for (const definition of definitions) {
    const name = envName(definition.key);
    const text = layers.env[name]?.trim();
    // An empty variable is an unset one, as `VAR= trellis …` means to most users.
    if (text) {
      const read = envValue(definition, text);
      if (typeof read === 'string') refuse(definition.key, `${name}: ${read}`);
      else offer(definition, { value: read.value, source: 'env' }, name);
    }
    const flag = layers.flags.get(definition.key);
    if (flag !== undefined) offer(definition, { value: flag, source: 'flag' }, `--${definition.key}`);
  }

  const winners = new Map<string, Candidate>();
  for (const definition of definitions) {
    const best = highest(candidates.get(definition.key) ?? []);
    if (best) winners.set(definition.key, best);
  }
  errors.push(...settleGroups(definitions, winners, file?.path));

  const settings = definitions.map((definition): ResolvedSetting => {
    const winner = winners.get(definition.key);
    if (winner) return { definition, value: winner.value, source: winner.source, ...(winner.line === undefined ? {} : { line: winner.line }) };
    // A file that did not parse may well hold it: its own errors say what to fix first.
    if (definition.required && !refused.has(definition.key) && !file?.errors.length) errors.push(missing(definition, file?.path ?? layers.defaultFile));
    return { definition, value: definition.kind === 'boolean' ? undefined : definition.default, source: 'default' };
  });
  return { settings, errors, warnings };
}

function highest(candidates: readonly Candidate[]): Candidate | undefined {
  return candidates.reduce<Candidate | undefined>((best, candidate) => (best && RANK[best.source] >= RANK[candidate.source] ? best : candidate), undefined);
}

/**
 * In a group the highest layer that gives any member wins for the whole group (a token in the
 * environment beats a token file named in the config file); two members from one layer are refused.
 */
function settleGroups(definitions: readonly SettingDefinition[], winners: Map<string, Candidate>, path: string | undefined): string[] {
  const errors: string[] = [];
  const groups = new Set(definitions.flatMap((definition) => (definition.group === undefined ? [] : [definition.group])));
  for (const group of groups) {
    const members = definitions.filter((definition) => definition.group === group && winners.has(definition.key));
    const top = Math.max(...members.map((member) => RANK[winners.get(member.key)?.source ?? 'file']));
    const kept = members.filter((member) => RANK[winners.get(member.key)?.source ?? 'file'] === top);
    for (const member of members) if (!kept.includes(member)) winners.delete(member.key);
    // The later line of a file is the one to name: the earlier one already gave the setting.
    const [first, second] = kept
      .map((member) => ({ key: member.key, winner: winners.get(member.key) }))
      .sort((a, b) => (a.winner?.line ?? 0) - (b.winner?.line ?? 0));
    if (first && second) {
      const { source, line } = second.winner ?? {};
      const label = source === 'file' ? `${path}:${line}: key "${second.key}"` : source === 'env' ? envName(second.key) : `--${second.key}`;
      errors.push(`${label}: give ${first.key} or ${second.key}, not both: they are two ways to give one setting`);
    }
  }
  return errors;
}

function missing(definition: SettingDefinition, path: string | undefined): string {
  const placeholder = definition.kind === 'boolean' ? '' : ` <${definition.placeholder}>`;
  const where = path === undefined ? 'the config file (--config FILE)' : path;
  return `--${definition.key}: required; give --${definition.key}${placeholder}, set ${envName(definition.key)}, or put "${definition.key}:" in ${where}`;
}

/** The definition's own check (the flag's), its message re-labelled by the caller with where the value came from. */
function checkValue(definition: SettingDefinition, value: SettingValue): string | undefined {
  try {
    if (definition.kind === 'list') {
      if (Array.isArray(value)) definition.check?.(value as readonly string[]);
    } else if (definition.kind !== 'boolean' && typeof value === 'string') {
      if (definition.choices && !definition.choices.includes(value)) {
        return `"${value}" is not allowed; give one of ${definition.choices.join(', ')}`;
      }
      definition.check?.(value);
    }
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message.startsWith(`--${definition.key}: `) ? message.slice(definition.key.length + 4) : message;
  }
}

function envValue(definition: SettingDefinition, text: string): { value: SettingValue } | string {
  switch (definition.kind) {
    case 'boolean':
      if (/^(true|1|yes)$/i.test(text)) return { value: true };
      if (/^(false|0|no)$/i.test(text)) return { value: false };
      return `"${text}" is not a boolean; set true or false`;
    case 'list':
      return { value: splitList(text) };
    default:
      return { value: text };
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

type FileRead = { value: SettingValue } | { problem: string; line: number };

/** The file's value in the shape the flag gives it, or what is wrong with its type and how to write it. */
function fileValue(definition: SettingDefinition, entry: FileEntry): FileRead {
  const { value, line } = entry;
  const wrong = (what: string): FileRead => ({ problem: `${what}; ${example(definition)}`, line });
  if (value === null || value === undefined) return wrong('has no value');
  switch (definition.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? { value } : wrong(`${describe(value)} is not a boolean`);
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return { value: String(value) };
      return typeof value === 'string' ? { value } : wrong(`${describe(value)} is not a whole number`);
    case 'string':
      return typeof value === 'string' ? { value } : wrong(`${describe(value)} is not a string`);
    case 'csv':
      if (typeof value === 'string') return { value };
      return listItems(definition, entry, (items) => ({ value: items.join(',') }));
    case 'list':
      return listItems(definition, entry, (items) => ({ value: items }));
  }
}

/** Items of a YAML list: strings, or numbers (a port reads as one), never maps or nulls. */
function listItems(definition: TextSetting | ListSetting, entry: FileEntry, take: (items: string[]) => FileRead): FileRead {
  if (!Array.isArray(entry.value)) return { problem: `${describe(entry.value)} is not a list; ${example(definition)}`, line: entry.line };
  const items: string[] = [];
  for (const [index, item] of (entry.value as unknown[]).entries()) {
    if (typeof item !== 'string' && typeof item !== 'number') {
      return { problem: `item ${index + 1}, ${describe(item)}, is not a ${definition.placeholder}; ${example(definition)}`, line: entry.itemLines?.[index] ?? entry.line };
    }
    items.push(String(item));
  }
  return take(items);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? `"${value}"` : `${typeof value} ${String(value)}`;
}

function example(definition: SettingDefinition): string {
  switch (definition.kind) {
    case 'boolean':
      return `write ${definition.key}: true (or false)`;
    case 'integer':
      return `write a whole number, e.g. ${definition.key}: ${definition.default ?? 30}`;
    case 'list':
    case 'csv':
      return `write a YAML list, e.g. ${definition.key}: [${definition.placeholder}, ...]`;
    case 'string':
      return `write ${definition.key}: <${definition.placeholder}> (quote it if YAML reads it as something else)`;
  }
}

function unknownKey(key: string, definitions: readonly SettingDefinition[]): string {
  const keys = definitions.map((definition) => definition.key);
  const [closest] = keys.map((known) => ({ known, distance: editDistance(key.toLowerCase(), known) })).sort((a, b) => a.distance - b.distance);
  if (closest && closest.distance <= Math.max(2, Math.floor(key.length / 3))) {
    return `unknown setting; did you mean "${closest.known}"?`;
  }
  return `unknown setting; the settings are ${keys.join(', ')}`;
}

/** Levenshtein distance, for the "did you mean" of a mistyped key. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_value, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
