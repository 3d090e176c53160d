import type { Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { readTlsDir, tlsFiles, writeTlsDir } from '../../proto/runtime/tls/tls-dir';
import { withChain } from '../../proto/runtime/tls/trust';
import type { Control } from '../control-client';
import type { NodeCertificate } from '../../proto/gen/trellis/v1/ca';
import { CommandError, formatOption, tlsDir, withControl, type OutputFormat } from '../context';
import { json, print } from '../output';

/** What `cluster admin-cert` shows of a certificate. */
function describe(certPem: string, file: string) {
  const cert = new X509Certificate(certPem);
  return {
    file,
    subject: cert.subject.replace(/\n/g, ', '),
    serial: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

/**
 * A new key and certificate for the CLI in `dir`, the same identity, signed by the signing
 * root (with the cross-signed root after it during a rotation); the trust bundle with it.
 */
export async function renewAdminCertificate(control: Control, dir: string): Promise<string> {
  return renewAdminWith(dir, (csrPem) => control.callCa((c) => c.renewNodeCertificate, { csrPem }));
}

/** Makes a new key and CSR, has `sign` sign it, and writes the result to `dir`; returns the certificate. */
export async function renewAdminWith(dir: string, sign: (csrPem: string) => Promise<NodeCertificate>): Promise<string> {
  // The certificate library is loaded for this, the only command that makes a key.
  const { createKeyAndCsr } = require('../../proto/runtime/tls/node-key') as typeof import('../../proto/runtime/tls/node-key');
  const { keyPem, csrPem } = await createKeyAndCsr();
  const issued = await sign(csrPem);
  writeTlsDir(dir, 'admin', { caPem: issued.caCertificatePem, certPem: withChain(issued.certificatePem, issued.chainPem), keyPem });
  // The CLI's directory is its user's alone: no file in it need be readable by anyone else.
  for (const file of Object.values(tlsFiles(dir, 'admin'))) chmodSync(file, 0o600);
  return issued.certificatePem;
}

/**
 * `trellis cluster admin-cert [--renew]`: the CLI's certificate, and its renewal: a new key
 * made here, signed by the cluster CA for the same identity. The old certificate stays valid
 * until it expires (copies of it elsewhere keep working); the files are replaced atomically.
 */
export function addAdminCertCommand(cluster: Command): void {
  cluster
    .command('admin-cert')
    .description("show the CLI's admin certificate (in --tls-dir); with --renew, replace it with a new one valid for a year")
    .option('--renew', 'get a new certificate for a new key, signed by the cluster CA; written to --tls-dir (files readable by their owner only)')
    .addOption(formatOption())
    .action((options: { renew?: boolean; format: OutputFormat }, command: Command) => {
      const dir = tlsDir(command);
      const held = readTlsDir(dir, 'admin');
      if (!held) throw new CommandError(`--tls-dir: no admin certificate in ${dir}; \`trellis cluster init\` writes one there`);
      const show = (certPem: string, renewed: boolean) => {
        const shown = { ...describe(certPem, tlsFiles(dir, 'admin').cert), renewed };
        if (options.format === 'json') return print(json(shown));
        print(`${renewed ? 'Renewed: ' : ''}${shown.subject}\nserial ${shown.serial}\nvalid ${shown.notBefore} to ${shown.notAfter}\nin ${shown.file}`);
      };
      if (!options.renew) return show(held.certPem, false);
      return withControl(command, async (control) => show(await renewAdminCertificate(control, dir), true));
    });
}
