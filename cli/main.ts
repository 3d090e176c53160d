#!/usr/bin/env node
import { CommandError } from './context';
import { JoinTokenError } from '../proto/runtime/tls/join-token';
import { buildProgram } from './program';

buildProgram().parseAsync(process.argv).catch((error: unknown) => {
  // A refused join token is the user's to fix, like any other bad flag: one line, no stack.
  if (error instanceof CommandError || error instanceof JoinTokenError) {
    process.stderr.write(`Error: ${error.message}\n`);
  } else {
    process.stderr.write(`Error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
});
