import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CommandError } from './command-error';

export const JOIN_TOKEN_ENV = 'TRELLIS_JOIN_TOKEN';

export interface JoinTokenFlags {
  joinToken?: string;
  joinTokenFile?: string;
}

export const VISIBLE_TOKEN_WARNING =
  `--join-token is visible to every local user in \`ps\` for as long as the daemon runs; pass --join-token-file PATH or set ${JOIN_TOKEN_ENV} instead`;

/**
 * The join token a daemon was given: --join-token-file (read once, trimmed), else --join-token
 * (kept for compatibility, with a warning), else $TRELLIS_JOIN_TOKEN; undefined when none.
 */
export function joinTokenFrom(flags: JoinTokenFlags, env: NodeJS.ProcessEnv, warn: (message: string) => void): string | undefined {
  if (flags.joinToken !== undefined && flags.joinTokenFile !== undefined) {
    throw new CommandError('--join-token-file: give the join token one way, not with --join-token too');
  }
  if (flags.joinTokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.joinTokenFile, 'utf8').trim();
    } catch (error) {
      throw new CommandError(`--join-token-file: cannot read ${flags.joinTokenFile}: ${(error as Error).message}`);
    }
    if (text === '') throw new CommandError(`--join-token-file: ${flags.joinTokenFile} is empty; put the token \`trellis cluster join-token\` prints in it`);
    return text;
  }
  if (flags.joinToken !== undefined) {
    warn(VISIBLE_TOKEN_WARNING);
    return flags.joinToken;
  }
  const fromEnv = env[JOIN_TOKEN_ENV]?.trim();
  return fromEnv ? fromEnv : undefined;
}

/**
 * The join token of a daemon's command, its options already holding what the environment and the
 * config file gave: only a token typed on the command line shows in `ps`, so only that one is warned about.
 */
export function commandJoinToken(command: Command, env: NodeJS.ProcessEnv, warn: (message: string) => void): string | undefined {
  const typed = command.getOptionValueSource('joinToken') === 'cli';
  return joinTokenFrom(command.opts<JoinTokenFlags>(), env, (message) => {
    if (typed) warn(message);
  });
}
