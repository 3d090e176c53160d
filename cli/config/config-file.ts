import { readFileSync, statSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { CommandError } from '../command-error';
import type { ConfigFile, FileEntry } from './settings';

/** What to do about the YAML errors a user most often makes; anything else gets the parser's words alone. */
const SYNTAX_FIXES: Readonly<Record<string, string>> = {
  DUPLICATE_KEY: 'set each key once',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MULTIPLE_DOCS: 'keep one: remove the `---` line',
};

/** The parser's words where they would send a user to the parser's API. */
const SYNTAX_MESSAGES: Readonly<Record<string, string>> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document',
};

/** A config file's top-level `key: value` pairs with their lines, and its syntax errors as `PATH:LINE: …`. */
export function parseConfig(path: string, text: string, worldReadable = false): ConfigFile {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => lines.linePos(offset).line;
  const top = isMap(document.contents) ? document.contents : undefined;
  // The top-level pair an error is in: a value's error may be reported at its very end.
  const pairAt = (offset: number) =>
    top?.items.find((pair) => {
      const key = (pair.key as Node | null)?.range;
      const end = (pair.value as Node | null)?.range?.[1] ?? key?.[1];
      return key != null && end !== undefined && key[0] <= offset && offset <= end;
    });

  const errors = document.errors.map((error) => {
    const [offset] = error.pos;
    const pair = pairAt(offset);
    const keyNode = pair?.key as Node | null | undefined;
    const valueEnd = (pair?.value as Node | null | undefined)?.range?.[1];
    // A value never closed (a quote, a bracket) is reported where the text ends; its key's line is the one to fix.
    const line = keyNode?.range && valueEnd !== undefined && offset >= valueEnd ? lineOf(keyNode.range[0]) : lineOf(Math.min(offset, Math.max(0, text.trimEnd().length - 1)));
    const key = isScalar(keyNode) ? `key "${String(keyNode.value)}": ` : '';
    const fix = SYNTAX_FIXES[error.code] ?? 'fix the YAML there';
    return `${path}:${line}: ${key}${SYNTAX_MESSAGES[error.code] ?? error.message}; ${fix}`;
  });
  if (errors.length > 0) return { path, entries: [], errors, worldReadable };
  if (document.contents === null) return { path, entries: [], errors: [], worldReadable };
  if (!top) {
    const line = lineOf(document.contents.range?.[0] ?? 0);
    return { path, entries: [], errors: [`${path}:${line}: the file must be a mapping of settings, one "key: value" a line, e.g. "log-level: info"`], worldReadable };
  }

  const entries: FileEntry[] = [];
  for (const pair of top.items) {
    const keyNode = pair.key as Node | null;
    const line = lineOf(keyNode?.range?.[0] ?? 0);
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const valueNode = pair.value as Node | null;
    let value: unknown;
    try {
      value = valueNode === null ? null : valueNode.toJS(document);
    } catch (error) {
      errors.push(`${path}:${line}: key "${key}": ${(error as Error).message}; write the value itself`);
      continue;
    }
    const itemLines = isSeq(valueNode) ? valueNode.items.map((item) => lineOf((item as Node | null)?.range?.[0] ?? keyNode?.range?.[0] ?? 0)) : undefined;
    entries.push({ key, value, line, ...(itemLines ? { itemLines } : {}) });
  }
  return { path, entries, errors, worldReadable };
}

/**
 * Reads the config file at `path`. A missing file is no config when the path is the role's
 * default (settings can all come from flags), and an error when the user named it.
 */
export function readConfig(path: string, named: boolean): ConfigFile | undefined {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!named && code === 'ENOENT') return undefined;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new CommandError(`--config: cannot read ${path}: ${reason}; give the path of a YAML config file (see deploy/examples/)`);
  }
  return parseConfig(path, text, (mode & 0o004) !== 0);
}
