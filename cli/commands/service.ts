import type { Command } from 'commander';
import type { PortConfig } from '../../proto/gen/trellis/v1/types';
import { collect, withControl } from '../context';
import { keyValues, parsePublish } from '../option-parsers';
import { portMapping, print, shortId } from '../output';
import { addInspectCommand, addListCommand, addRemoveCommand } from './object-commands';

interface CreateOptions {
  network: string[];
  endpointMode?: string;
  publish: string[];
  label: string[];
}

/** Like `docker service ps`'s PORTS column: *:8080->80/tcp, or host:8080->80/tcp for host mode. */
function portText(port: PortConfig): string {
  const where = port.publishMode === 'host' ? 'host' : '*';
  return `${where}:${portMapping(port.publishedPort, port.targetPort, port.protocol)}`;
}

export function addServiceCommands(program: Command): void {
  const service = program.command('service').description('manage services: named sets of backends behind a VIP or DNS round robin');

  service
    .command('create')
    .description('create a service; endpoints join it with `trellis network connect --service`')
    .argument('<name>')
    .option('--network <network>', 'network the service is on (repeatable)', collect, [])
    .option('--endpoint-mode <mode>', 'vip (a virtual IP per network) or dnsrr (DNS round robin)', 'vip')
    .option('--publish <port>', 'publish a port: [published:]target[/tcp|udp] or published=P,target=T,protocol=udp,mode=host (repeatable)', collect, [])
    .option('--label <key=value>', 'label of the service (repeatable)', collect, [])
    .action((name: string, options: CreateOptions, command: Command) =>
      withControl(command, async (control) => {
        const created = await control.call((c) => c.createService, {
          name,
          networks: options.network,
          endpointMode: options.endpointMode ?? '',
          ports: options.publish.map(parsePublish),
          labels: keyValues('--label', options.label),
        });
        print(created.id);
      }),
    );

  addListCommand(service, {
    description: 'list services',
    fetch: (control) => control.listAll((c) => c.listServices, (page) => page.services),
    header: ['SERVICE ID', 'NAME', 'MODE', 'NETWORKS', 'VIPS', 'BACKENDS', 'PORTS'],
    row: (s) => [
      shortId(s.id),
      s.name,
      s.endpointMode,
      s.networks.join(',') || '-',
      s.vips.map((vip) => vip.ip).join(',') || '-',
      String(s.backends.length),
      s.ports.map(portText).join(',') || '-',
    ],
  });

  addInspectCommand(service, 'service', 'show a service, its VIPs and its backends (JSON)', (control, reference) =>
    control.call((c) => c.getService, { service: reference }),
  );
  addRemoveCommand(service, 'service', 'remove a service that has no backends', (control, reference) =>
    control.call((c) => c.removeService, { service: reference }),
  );
}
