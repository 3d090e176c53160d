import type { Command } from 'commander';

/*
 * Shell completion scripts, written from the program's own command tree: whatever verbs and
 * flags the CLI has, the scripts complete, and completing runs no trellis process.
 */

interface Flag {
  name: string;
  description: string;
  /** What its value completes to: a file, a directory, one of a list; undefined for a switch. */
  value?: { kind: 'file' | 'directory' | 'word' } | { kind: 'choice'; choices: readonly string[] };
}

interface Level {
  /** The words after `trellis` that lead here: "" for the program itself, "network create"... */
  path: string;
  commands: { name: string; description: string }[];
  flags: Flag[];
}

function flagOf(option: Command['options'][number]): Flag | undefined {
  if (option.hidden || !option.long) return undefined;
  const base = { name: option.long, description: option.description };
  if (!option.required && !option.optional) return base;
  if (option.argChoices) return { ...base, value: { kind: 'choice', choices: option.argChoices } };
  if (/<(dir|directory)>/.test(option.flags)) return { ...base, value: { kind: 'directory' } };
  if (/<(path|file)>/.test(option.flags)) return { ...base, value: { kind: 'file' } };
  return { ...base, value: { kind: 'word' } };
}

function levels(command: Command, path: string[] = []): Level[] {
  const visible = command.commands.filter((sub) => !(sub as Command & { _hidden?: boolean })._hidden);
  const flags = [...command.options.map(flagOf).filter((flag): flag is Flag => flag !== undefined), { name: '--help', description: 'show help' }];
  // A first argument with fixed choices (`completion bash|zsh`) completes like subcommands.
  const argument = command.registeredArguments[0];
  const choices = (argument?.argChoices ?? []).map((choice) => ({ name: choice, description: argument?.description ?? '' }));
  const here: Level = { path: path.join(' '), commands: [...visible.map((sub) => ({ name: sub.name(), description: sub.description() })), ...choices], flags };
  return [here, ...visible.flatMap((sub) => levels(sub, [...path, sub.name()]))];
}

/** `text` as one single-quoted shell word. */
function quoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/** A `case` over the command path, one branch per level that has something to say. */
function pathCase(all: Level[], branch: (level: Level) => string | undefined): string {
  const branches = all.flatMap((level) => {
    const body = branch(level);
    return body === undefined ? [] : [`    ${quoted(level.path)}) ${body} ;;`];
  });
  return `  case "$cmdpath" in\n${branches.join('\n')}\n  esac`;
}

/** Flags that take a value, anywhere: the word after one is its value, not a command. */
function valuedFlags(all: Level[]): string[] {
  return [...new Set(all.flatMap((level) => level.flags.filter((flag) => flag.value).map((flag) => flag.name)))];
}

/** The value completions: `--format` to its choices, `--data-dir` to directories... */
function valueCases(all: Level[], action: (flag: Flag) => string): string {
  const seen = new Map<string, string>();
  for (const flag of all.flatMap((level) => level.flags)) {
    if (flag.value && flag.value.kind !== 'word' && !seen.has(flag.name)) seen.set(flag.name, action(flag));
  }
  return [...seen].map(([name, body]) => `    ${name}) ${body} ;;`).join('\n');
}

/** `_trellis_commands PATH`: the subcommands at PATH, for both shells. */
function commandsFunction(all: Level[]): string {
  return `_trellis_commands() {
  local cmdpath="$1"
${pathCase(all, (level) => (level.commands.length ? `echo ${quoted(level.commands.map((c) => c.name).join(' '))}` : undefined))}
}
`;
}

const walkWords = (first: number, last: string, words: string) => `  local cmdpath='' word skip=0 i
  for ((i = ${first}; i < ${last}; i++)); do
    word=${words}
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      -*=*) continue ;;
      -*) [[ " $valued " == *" $word "* ]] && skip=1; continue ;;
    esac
    [[ " $(_trellis_commands "$cmdpath") " == *" $word "* ]] && cmdpath="\${cmdpath:+$cmdpath }$word"
  done`;

export function bashCompletion(program: Command): string {
  const all = levels(program);
  const name = program.name();
  return `# ${name} completion for bash. Load it with: source <(${name} completion bash)
# or install it: ${name} completion bash > /etc/bash_completion.d/${name}
${commandsFunction(all)}_trellis_flags() {
  local cmdpath="$1"
${pathCase(all, (level) => `echo ${quoted(level.flags.map((f) => f.name).join(' '))}`)}
}
_trellis() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local valued=${quoted(valuedFlags(all).join(' '))}
${walkWords(1, '$COMP_CWORD', '"${COMP_WORDS[i]}"')}
  case "$prev" in
${valueCases(all, (flag) => (flag.value?.kind === 'choice' ? `COMPREPLY=($(compgen -W ${quoted(flag.value.choices.join(' '))} -- "$cur")); return` : flag.value?.kind === 'directory' ? 'COMPREPLY=($(compgen -d -- "$cur")); return' : 'COMPREPLY=($(compgen -f -- "$cur")); return'))}
  esac
  [[ " $valued " == *" $prev "* ]] && return
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_trellis_flags "$cmdpath")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_trellis_commands "$cmdpath")" -- "$cur"))
  fi
}
complete -o default -F _trellis ${name}
`;
}

/** A _describe entry: "name:description", the colon in names and descriptions escaped. */
function described(name: string, description: string): string {
  return quoted(`${name.replace(/:/g, '\\:')}:${firstLine(description).replace(/:/g, '\\:')}`);
}

export function zshCompletion(program: Command): string {
  const all = levels(program);
  const name = program.name();
  return `#compdef ${name}
# ${name} completion for zsh. Load it with: source <(${name} completion zsh)   (after compinit)
# or install it as _${name} in a directory of $fpath: ${name} completion zsh > "\${fpath[1]}/_${name}"
${commandsFunction(all)}_trellis() {
  local valued=${quoted(valuedFlags(all).join(' '))}
${walkWords(2, '$CURRENT', '"${words[i]}"')}
  case "\${words[CURRENT-1]}" in
${valueCases(all, (flag) => (flag.value?.kind === 'choice' ? `compadd -- ${flag.value.choices.map(quoted).join(' ')}; return` : flag.value?.kind === 'directory' ? '_files -/; return' : '_files; return'))}
  esac
  [[ " $valued " == *" \${words[CURRENT-1]} "* ]] && return
  local -a commands flags
${pathCase(all, (level) => `commands=(${level.commands.map((c) => described(c.name, c.description)).join(' ')}); flags=(${level.flags.map((f) => described(f.name, f.description)).join(' ')})`)}
  if [[ "$PREFIX" == -* ]]; then
    _describe -t options 'option' flags
  else
    _describe -t commands 'command' commands
  fi
}
if [[ "\${funcstack[1]}" == _trellis ]]; then
  _trellis "$@"
else
  compdef _trellis ${name}
fi
`;
}
