import type { Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { createKeyAndCsr, readTlsDir, tlsFiles, writeTlsDir } from '../../proto/runtime/tls';
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
 * `trellis cluster admin-cert [--renew]`: the CLI's certificate, and its renewal: a new key
 * made here, signed by the cluster CA for the same identity. The old certificate stays valid
 * until it expires (copies of it elsewhere keep working); the files are replaced atomically.
 */
export function addAdminCertCommand(cluster: Command): void {
  cluster
    .command('admin-cert')
    .description("show the CLI's admin certificate (in --tls-dir); with --renew, replace it with a new one valid for a year")
    .option('--renew', 'get a new certificate for a new key, signed by the cluster CA; written to --tls-dir (the key readable by its owner only)')
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
      return withControl(command, async (control) => {
        const { keyPem, csrPem } = await createKeyAndCsr();
        const issued = await control.callCa((c) => c.renewNodeCertificate, { csrPem });
        writeTlsDir(dir, 'admin', { caPem: issued.caCertificatePem, certPem: issued.certificatePem, keyPem });
        show(issued.certificatePem, true);
      });
    });
}
