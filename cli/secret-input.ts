import { readFileSync } from 'node:fs';
import { CommandError } from './command-error';

/** Reads one line from a terminal without echoing it (the unlock key must not land in scrollback). */
function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error?: Error): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new CommandError('interrupted'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/**
 * A secret the user gives: from `file` when named, else typed at a prompt (not echoed) when stdin
 * is a terminal, else stdin's first line. Never from a command-line argument, which `ps` shows.
 */
export async function readSecret(what: string, file: string | undefined): Promise<string> {
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CommandError(`--key-file: cannot read ${file}: ${(error as Error).message}`);
    }
  } else if (process.stdin.isTTY) {
    text = await promptHidden(`${what}: `);
  } else {
    text = await readAll(process.stdin);
  }
  const line = text.split('\n').map((part) => part.trim()).find((part) => part !== '');
  if (line === undefined) throw new CommandError(`${what}: none given (type it at the prompt, pipe it to stdin, or pass --key-file)`);
  return line;
}
