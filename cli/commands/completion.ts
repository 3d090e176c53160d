import { Argument, type Command } from 'commander';
import { bashCompletion, zshCompletion } from '../completion';
import { print } from '../output';

/** `trellis completion bash|zsh`: the completion script of the shell, on stdout. */
export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash or zsh')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => print((shell === 'bash' ? bashCompletion : zshCompletion)(program).trimEnd()));
}
