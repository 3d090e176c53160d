import { Command, Option } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repairPrivateTreeWarning } from '../proto/runtime/private-files';
import type { ChannelMaterial } from '../proto/runtime/tls/grpc-credentials';
import { readCaCertificate, readTlsDir } from '../proto/runtime/tls/tls-dir';
import { CommandError } from './command-error';
import type { Control } from './control-client';

export const defaultManager = '127.0.0.1:4240';

/** Where `trellis cluster init` puts the CLI's certificate, and where the CLI looks for it. */
export function defaultTlsDir(): string {
  return process.env.TRELLIS_TLS_DIR ?? join(homedir(), '.trellis');
}

export function tlsDir(command: Command): string {
  return command.optsWithGlobals<{ tlsDir: string }>().tlsDir;
}

/**
 * The CLI's credentials: the admin certificate in --tls-dir. With only the CA
 * there, calls go out without a client certificate and the managers refuse
 * them with their own message; with nothing, the CLI says where to get one.
 */
function adminMaterial(command: Command): ChannelMaterial {
  const dir = tlsDir(command);
  try {
    repairPrivateTreeWarning(dir, (_repaired, message) => process.stderr.write(`Warning: ${message}\n`));
  } catch {
    // Not ours to fix (another user's directory, read-only): the certificate is still usable.
  }
  const admin = readTlsDir(dir, 'admin');
  if (admin) return admin;
  const caPem = readCaCertificate(dir);
  if (caPem) return { caPem };
  throw new CommandError(
    `--tls-dir: no cluster certificates in ${dir} (ca.crt, admin.crt, admin.key); \`trellis cluster init\` writes them there, or pass --tls-dir (env TRELLIS_TLS_DIR)`,
  );
}

/** The managers named by --manager (a comma-separated list). */
export function managerList(command: Command): string[] {
  return command
    .optsWithGlobals<{ manager: string }>()
    .manager.split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
}

/** Runs `action` with a Control client for the --manager the user chose. */
export function withControl(command: Command, action: (control: Control) => Promise<void>): Promise<void> {
  // Loaded here, not above: gRPC and the generated messages are for commands that call a manager.
  const { Control } = require('./control-client') as typeof import('./control-client');
  const control = new Control(managerList(command), adminMaterial(command));
  return action(control).finally(() => control.close());
}

export type OutputFormat = 'table' | 'json';

export function formatOption(): Option {
  return new Option('--format <format>', 'output format').choices(['table', 'json']).default('table');
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export { CommandError };
