import type { Command } from 'commander';
import { CommandError, collect, formatOption, tlsDir, withControl, type OutputFormat } from '../context';
import { json, print } from '../output';
import { addAutolockCommands } from './autolock';
import { defaultAddressPools, type AddressPoolFlags } from '../address-pools';
import { addAdminCertCommand } from './admin-cert';
import { addRootCaCommand } from './root-ca';

interface InitFlags extends AddressPoolFlags {
  dataDir: string;
  adminDir?: string;
  certExpiry: string;
  format: OutputFormat;
}

/** "90d", "12h", "30m", "45s" → seconds. */
function parseExpiry(text: string): number {
  const match = /^(\d+)(d|h|m|s)$/.exec(text);
  const unit = match ? { d: 86_400, h: 3_600, m: 60, s: 1 }[match[2] as 'd' | 'h' | 'm' | 's'] : 0;
  const seconds = match ? Number(match[1]) * unit : 0;
  if (seconds < 60) throw new CommandError(`--cert-expiry: "${text}" is not a lifetime of a minute or more; use e.g. 90d, 12h or 30m`);
  return seconds;
}

function joinRole(role: string): 'worker' | 'manager' {
  if (role !== 'worker' && role !== 'manager') throw new CommandError(`role: "${role}" is no join role; give worker or manager`);
  return role;
}

/** `trellis cluster init` and `trellis cluster join-token`, after `docker swarm init` and `docker swarm join-token`. */
export function addClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('create a cluster, manage its join tokens and autolock');

  cluster
    .command('init')
    .description("create a cluster: its root CA and join tokens, the first manager's certificate in --data-dir, and the CLI's admin certificate")
    .option('--data-dir <dir>', 'the first manager\'s data directory (then run `trellis manager --data-dir` on it)', '/var/lib/trellis/manager')
    .option('--admin-dir <dir>', 'where the admin certificate goes (default: --tls-dir)')
    .option('--default-addr-pool <cidr>', 'pool networks without --subnet get theirs from (repeatable; default 10.0.0.0/8)', collect, [])
    .option('--default-addr-pool-mask-length <n>', 'prefix length of the subnets cut from the pools (default 24)')
    .option('--cert-expiry <duration>', 'lifetime of node certificates, renewed after two thirds of it', '90d')
    .addOption(formatOption())
    .action(async (options: InitFlags, command: Command) => {
      const adminDir = options.adminDir ?? tlsDir(command);
      let created;
      try {
        const { initCluster } = require('../../manager/ca/cluster-init') as typeof import('../../manager/ca/cluster-init');
        created = await initCluster({
          dataDir: options.dataDir,
          adminDir,
          defaultAddressPools: defaultAddressPools(options),
          certValiditySeconds: parseExpiry(options.certExpiry),
        });
      } catch (error) {
        if (error instanceof CommandError) throw error;
        throw new CommandError(error instanceof Error ? error.message : String(error));
      }
      if (options.format === 'json') return print(json({ clusterId: created.clusterId, adminDir, joinTokens: created.tokens }));
      print(`Cluster ${created.clusterId} created. Admin certificate: ${adminDir}`);
      print(`Start its first manager:\n    trellis manager --data-dir ${options.dataDir} --listen HOST:PORT`);
      // The token goes in the environment, not argv: `ps` shows every argument to every local user.
      print(`Add an agent:\n    TRELLIS_JOIN_TOKEN=${created.tokens.worker} trellis agent --manager HOST:PORT --node NAME --advertise-addr IP`);
      print(`Add a manager:\n    TRELLIS_JOIN_TOKEN=${created.tokens.manager} trellis manager --join HOST:PORT --data-dir DIR --listen HOST:PORT`);
    });

  cluster
    .command('join-token <role>')
    .description('print the join token of a role (worker or manager)')
    .option('--rotate', 'replace the token first; the old one stops working (joined nodes keep their certificates)')
    .option('-q, --quiet', 'print the token only')
    .action((role: string, options: { rotate?: boolean; quiet?: boolean }, command: Command) =>
      withControl(command, async (control) => {
        const kind = joinRole(role);
        const tokens = options.rotate ? await control.call((c) => c.rotateJoinToken, { role: kind }) : await control.call((c) => c.getJoinTokens, {});
        const token = tokens[kind];
        if (options.quiet) return print(token);
        const join = kind === 'worker' ? 'trellis agent --node NAME --advertise-addr IP' : 'trellis manager --join HOST:PORT --data-dir DIR --listen HOST:PORT';
        print(`To add a ${kind}, run:\n    TRELLIS_JOIN_TOKEN=${token} ${join} --manager ${command.optsWithGlobals<{ manager: string }>().manager}`);
      }),
    );

  addAdminCertCommand(cluster);
  addRootCaCommand(cluster);
  addAutolockCommands(cluster);
}
