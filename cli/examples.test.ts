import type { Command } from 'commander';
import { commandPath, EXAMPLES } from './examples';
import { buildProgram } from './program';

function everyCommand(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}

/** The words of an example after `trellis`: env assignments before it and shell redirections dropped. */
function trellisWords(example: string): string[] {
  const words = example.replace(/^(\w+=\S+ )+/, '').replace(/^source <\((.*)\)$/, '$1').split(/\s+/);
  const end = words.indexOf('>');
  return end < 0 ? words : words.slice(0, end);
}

describe('--help examples', () => {
  const program = buildProgram();
  const commands = everyCommand(program).slice(1);
  const byPath = new Map(commands.map((command) => [commandPath(command), command]));

  it('are there for every command that does something (all but the pure groups)', () => {
    const groups = ['network', 'sandbox', 'service', 'node', 'cluster'];
    const runnable = [...byPath.keys()].filter((path) => !groups.includes(path));
    expect(runnable.filter((path) => !EXAMPLES[path])).toEqual([]);
    expect(Object.keys(EXAMPLES).filter((path) => path !== '' && !byPath.has(path))).toEqual([]);
  });

  it('name their own command and use only flags it (or trellis itself) has', () => {
    const globals = program.options.map((option) => option.long);
    for (const [path, examples] of Object.entries(EXAMPLES)) {
      if (path === '') continue; // trellis itself: its examples show its commands
      const command = byPath.get(path) as Command;
      const flags = [...globals, ...command.options.map((option) => option.long), '--help'];
      for (const example of examples) {
        const words = trellisWords(example).filter((_word, index, all) => !all[index - 1]?.startsWith('--manager'));
        expect({ example, words: words.filter((word) => !word.startsWith('-')).slice(0, path.split(' ').length + 1) }).toEqual({
          example,
          words: ['trellis', ...path.split(' ')],
        });
        for (const word of words.filter((w) => w.startsWith('--'))) expect({ example, flag: word, known: flags.includes(word) }).toEqual({ example, flag: word, known: true });
      }
    }
  });

  it('end the help text of their command', () => {
    let help = '';
    const networkCreate = byPath.get('network create') as Command;
    networkCreate.configureOutput({ writeOut: (text) => (help += text) });
    networkCreate.outputHelp();
    expect(help).toMatch(/\nExamples:\n {2}trellis network create web\n[\s\S]*--attachable backend\n/);
  });
});
