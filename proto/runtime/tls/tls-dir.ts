import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files';

/** What a node needs for mTLS: the cluster CA's certificate, its own certificate and its key. */
export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** The file names in a TLS directory: `ca.crt`, `NAME.crt`, `NAME.key` (NAME is `node` for daemons, `admin` for the CLI). */
export function tlsFiles(dir: string, name: string): { ca: string; cert: string; key: string } {
  return { ca: join(dir, 'ca.crt'), cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** The directory's material, or undefined when its certificate is not there yet (the node has not joined). */
export function readTlsDir(dir: string, name: string): TlsMaterial | undefined {
  const files = tlsFiles(dir, name);
  if (!existsSync(files.cert)) return undefined;
  return { caPem: readFileSync(files.ca, 'utf8'), certPem: readFileSync(files.cert, 'utf8'), keyPem: readFileSync(files.key, 'utf8') };
}

/** Only the CA certificate, for a client that has no certificate of its own; undefined when absent. */
export function readCaCertificate(dir: string): string | undefined {
  const { ca } = tlsFiles(dir, 'node');
  return existsSync(ca) ? readFileSync(ca, 'utf8') : undefined;
}

/**
 * Writes the material so that a crash leaves either the old files or the new ones:
 * each file goes to a temporary name first, created readable by its owner only (a leftover
 * temporary file is removed first, since writing over it would keep its mode).
 * The certificate is renamed last, since its presence says the directory is complete.
 */
export function writeTlsDir(dir: string, name: string, material: TlsMaterial): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
  const files = tlsFiles(dir, name);
  const put = (path: string, text: string): void => {
    rmSync(`${path}.tmp`, { force: true });
    writeFileSync(`${path}.tmp`, text.endsWith('\n') ? text : `${text}\n`, { mode: PRIVATE_FILE_MODE });
    renameSync(`${path}.tmp`, path);
  };
  put(files.ca, material.caPem);
  put(files.key, material.keyPem);
  put(files.cert, material.certPem);
}

/** What a TLS server sends: its own certificate, then the CA that vouches for it. */
export function certificateChainPem(leafPem: string, caPem: string): string {
  return `${leafPem.trim()}\n${caPem.trim()}\n`;
}
