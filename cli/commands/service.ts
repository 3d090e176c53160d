import type { Command } from 'commander';
import type { PortConfig, Service } from '../../proto/gen/trellis/v1/types';
import { DRAIN_TIMEOUT_RANGE, IDLE_TIMEOUT_RANGE } from '../../manager/store/limits';
import { CommandError, collect, withControl } from '../context';
import { durationSeconds, keyValues, parsePublish } from '../option-parsers';
import { portMapping, print, shortId } from '../output';
import { addInspectCommand, addListCommand, addRemoveCommand } from './object-commands';

interface TimeoutOptions {
  drainTimeout?: string;
  idleTimeoutTcp?: string;
  idleTimeoutUdp?: string;
}

interface CreateOptions extends TimeoutOptions {
  network: string[];
  endpointMode?: string;
  publish: string[];
  label: string[];
}

interface UpdateOptions extends TimeoutOptions {
  publishAdd: string[];
  publishRm: string[];
}

/** Like `docker service ps`'s PORTS column: *:8080->80/tcp, or host:8080->80/tcp for host mode. */
function portText(port: PortConfig): string {
  const where = port.publishMode === 'host' ? 'host' : '*';
  return `${where}:${portMapping(port.publishedPort, port.targetPort, port.protocol)}`;
}

/** Like docker's REPLICAS 2/3: backends taking new flows (ready, not draining) out of all of them. */
function readyText(service: Service): string {
  return `${service.readyBackends}/${service.backends.length}`;
}

const PUBLISH_SPEC = '[published:]target[/tcp|udp] or published=P,target=T,protocol=udp,mode=host';

/** The timeout flags both create and update take; an update leaves those not given as they are, a new service takes the defaults. */
function addTimeoutOptions(command: Command, withDefaults: boolean): Command {
  const limits = (fallback: string, most: string) => (withDefaults ? `default ${fallback}, at most ${most}` : `at most ${most}`);
  return command
    .option('--drain-timeout <duration>', `how long a leaving backend keeps its established flows (0 = cut at once; ${limits('30s', '24h')})`)
    .option('--idle-timeout-tcp <duration>', `idle timeout of TCP flows through the VIPs (${limits('24h', '168h')})`)
    .option('--idle-timeout-udp <duration>', `idle timeout of UDP flows through the VIPs (${limits('15m', '168h')})`);
}

function timeouts(options: TimeoutOptions): { drainTimeoutSeconds?: number; tcpIdleTimeoutSeconds?: number; udpIdleTimeoutSeconds?: number } {
  const seconds = (flag: string, text: string | undefined, range: { min: number; max: number }) => (text === undefined ? undefined : durationSeconds(flag, text, range));
  return {
    drainTimeoutSeconds: seconds('--drain-timeout', options.drainTimeout, DRAIN_TIMEOUT_RANGE),
    tcpIdleTimeoutSeconds: seconds('--idle-timeout-tcp', options.idleTimeoutTcp, IDLE_TIMEOUT_RANGE),
    udpIdleTimeoutSeconds: seconds('--idle-timeout-udp', options.idleTimeoutUdp, IDLE_TIMEOUT_RANGE),
  };
}

export function addServiceCommands(program: Command): void {
  const service = program.command('service').description('manage services: named sets of backends behind a VIP or DNS round robin');

  addTimeoutOptions(
    service
      .command('create')
      .description('create a service; endpoints join it with `trellis network connect --service`')
      .argument('<name>')
      .option('--network <network>', 'network the service is on (repeatable)', collect, [])
      .option('--endpoint-mode <mode>', 'vip (a virtual IP per network) or dnsrr (DNS round robin)', 'vip')
      .option('--publish <port>', `publish a port: ${PUBLISH_SPEC} (repeatable)`, collect, [])
      .option('--label <key=value>', 'label of the service (repeatable)', collect, []),
    true,
  ).action((name: string, options: CreateOptions, command: Command) =>
    withControl(command, async (control) => {
      const created = await control.call((c) => c.createService, {
        name,
        networks: options.network,
        endpointMode: options.endpointMode ?? '',
        ports: options.publish.map(parsePublish),
        labels: keyValues('--label', options.label),
        ...timeouts(options),
      });
      print(created.id);
    }),
  );

  addTimeoutOptions(
    service
      .command('update')
      .description('change published ports and timeouts of a service; its VIPs and backends stay (new timeouts apply to drains that start from then on)')
      .argument('<service>')
      .option('--publish-add <port>', `publish a port: ${PUBLISH_SPEC} (repeatable)`, collect, [])
      .option('--publish-rm <port>', 'stop publishing a port, named by its published port: 8080, 8080:80, 53/udp (repeatable; removals come before additions)', collect, []),
    false,
  ).action((reference: string, options: UpdateOptions, command: Command) => {
    const timeoutFields = timeouts(options);
    const request = { service: reference, publishAdd: options.publishAdd.map(parsePublish), publishRm: options.publishRm.map(parsePublish), ...timeoutFields };
    if (request.publishAdd.length + request.publishRm.length === 0 && Object.values(timeoutFields).every((value) => value === undefined)) {
      throw new CommandError('service update: nothing to change; give --publish-add, --publish-rm, --drain-timeout, --idle-timeout-tcp or --idle-timeout-udp');
    }
    return withControl(command, async (control) => {
      const updated = await control.call((c) => c.updateService, request);
      print(updated.id);
    });
  });

  addListCommand(service, {
    description: 'list services; READY counts the backends taking new flows (ready, not draining) out of all',
    fetch: (control) => control.listAll((c) => c.listServices, (page) => page.services),
    header: ['SERVICE ID', 'NAME', 'MODE', 'READY', 'NETWORKS', 'VIPS', 'PORTS'],
    row: (s) => [
      shortId(s.id),
      s.name,
      s.endpointMode,
      readyText(s),
      s.networks.join(',') || '-',
      s.vips.map((vip) => vip.ip).join(',') || '-',
      s.ports.map(portText).join(',') || '-',
    ],
  });

  addInspectCommand(
    service,
    'service',
    'show a service (JSON): VIPs, ports, timeouts, backends with ready and draining, and per node whether its agent programmed it',
    (control, reference) => control.call((c) => c.getService, { service: reference }),
  );
  addRemoveCommand(service, 'service', 'remove a service that has no backends (draining ones count)', (control, reference) =>
    control.call((c) => c.removeService, { service: reference }),
  );
}
