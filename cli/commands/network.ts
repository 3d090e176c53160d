import type { Command } from 'commander';
import { collect, withControl } from '../context';
import { print, shortId } from '../output';
import { addInspectCommand, addListCommand, addRemoveCommand } from './object-commands';

export function addNetworkCommands(program: Command): void {
  const network = program.command('network').description('manage overlay networks');

  network
    .command('create')
    .description('create a network')
    .argument('<name>')
    .option('--driver <driver>', 'network driver', 'overlay')
    .requiredOption('--subnet <cidr>', 'IPv4 subnet, e.g. 10.0.1.0/24')
    .option('--gateway <ip>', 'gateway address inside the subnet (default: its first address)')
    .option('--ip-range <cidr>', 'allocate endpoint addresses from this range inside the subnet')
    .action((name: string, options: { driver: string; subnet: string; gateway?: string; ipRange?: string }, command: Command) =>
      withControl(command, async (control) => {
        const created = await control.call((c) => c.createNetwork, {
          name,
          driver: options.driver,
          subnet: options.subnet,
          gateway: options.gateway ?? '',
          ipRange: options.ipRange ?? '',
        });
        print(created.id);
      }),
    );

  addListCommand(network, {
    description: 'list networks',
    fetch: async (control) => (await control.call((c) => c.listNetworks, {})).networks,
    header: ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'VNI', 'ENDPOINTS'],
    row: (n) => [shortId(n.id), n.name, n.driver, n.subnet, n.gateway, String(n.vni), String(n.endpoints.length)],
  });

  addInspectCommand(network, 'network', 'show a network and its endpoints (JSON)', (control, reference) =>
    control.call((c) => c.getNetwork, { network: reference }),
  );
  addRemoveCommand(network, 'network', 'remove a network that has no endpoints', (control, reference) =>
    control.call((c) => c.removeNetwork, { network: reference }),
  );

  network
    .command('connect')
    .description('attach a sandbox to a network')
    .argument('<network>')
    .argument('<sandbox>')
    .option('--ip <ip>', 'static IPv4 address inside the subnet')
    .option('--alias <name>', 'extra name for the endpoint (repeatable)', collect, [])
    .action((networkRef: string, sandboxRef: string, options: { ip?: string; alias: string[] }, command: Command) =>
      withControl(command, async (control) => {
        await control.call((c) => c.connectNetwork, {
          network: networkRef,
          sandbox: sandboxRef,
          ip: options.ip ?? '',
          aliases: options.alias,
        });
      }),
    );

  network
    .command('disconnect')
    .description('detach a sandbox from a network')
    .argument('<network>')
    .argument('<sandbox>')
    .action((networkRef: string, sandboxRef: string, _options: unknown, command: Command) =>
      withControl(command, async (control) => {
        await control.call((c) => c.disconnectNetwork, { network: networkRef, sandbox: sandboxRef });
      }),
    );
}
