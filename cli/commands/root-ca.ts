import type { Command } from 'commander';
import type { RootCaStatus } from '../../proto/gen/trellis/v1/control';
import { CommandError, formatOption, tlsDir, withControl, type OutputFormat } from '../context';
import type { Control } from '../control-client';
import { json, print, table } from '../output';
import { renewAdminWith } from './admin-cert';

function printStatus(status: RootCaStatus, format: OutputFormat): void {
  if (format === 'json') return print(json(status));
  print(`root CA ${status.caDigest} (valid until ${status.notAfter})`);
  if (status.rotating) {
    const onNew = status.holders.filter((holder) => holder.onCurrentRoot).length;
    print(`rotating from ${status.previousCaDigest}: ${onNew} of ${status.holders.length} on the new root; the old root is trusted until all are`);
  }
  print(
    table(
      ['ID', 'NAME', 'KIND', 'ROOT', 'CERTIFICATE SERIAL'],
      status.holders.map((holder) => [holder.id, holder.name || '-', holder.kind, holder.onCurrentRoot ? 'current' : 'old', holder.certificateSerial || '-']),
    ),
  );
}

/**
 * `trellis cluster ca [--rotate]`, after `docker swarm ca --rotate`. The CLI's own admin
 * certificate moves onto the new root with the rotation; other admin certificates must be
 * renewed (`cluster admin-cert --renew`) before it ends, or they are refused after.
 */
export function addRootCaCommand(cluster: Command): void {
  cluster
    .command('ca')
    .description("show the cluster's root CA and which nodes and managers hold a certificate from it; --rotate replaces it")
    .option('--rotate', 'start a root CA rotation: nodes renew onto a new root without losing their sessions; join tokens change')
    .addOption(formatOption())
    .action((options: { rotate?: boolean; format: OutputFormat }, command: Command) =>
      withControl(command, async (control: Control) => {
        if (!options.rotate) return printStatus(await control.call((c) => c.getRootCa, {}), options.format);
        // The CLI's certificate is signed by the new root in the same call: the rotation may end
        // (and the old root lose trust) before a separate renewal could be made.
        await renewAdminWith(tlsDir(command), async (adminCsrPem) => {
          const started = await control.call((c) => c.rotateRootCa, { adminCsrPem });
          if (!started.adminCertificate) throw new CommandError('the manager signed no new admin certificate with the rotation');
          return started.adminCertificate;
        });
        printStatus(await control.call((c) => c.getRootCa, {}), options.format);
      }),
    );
}
