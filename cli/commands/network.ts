import type { Command } from 'commander';
import { collect, withControl } from '../context';
import { integerOption, keyValues, networkAddressing, parseExpose, parseHostPublish } from '../option-parsers';
import { print, shortId } from '../output';
import { MTU_RANGE, VNI_RANGE } from '../../manager/store/limits';
import { addInspectCommand, addListCommand, addRemoveCommand } from './object-commands';

interface CreateOptions {
  driver: string;
  subnet: string[];
  gateway: string[];
  ipRange: string[];
  auxAddress: string[];
  internal?: boolean;
  attachable?: boolean;
  mtu?: string;
  label: string[];
  vni?: string;
  node?: string;
  parent?: string;
  opt: string[];
}

interface ConnectOptions {
  ip?: string;
  alias: string[];
  mac?: string;
  hostname?: string;
  addHost: string[];
  dns: string[];
  service?: string;
  publish: string[];
  publishAll?: boolean;
  expose: string[];
}

export function addNetworkCommands(program: Command): void {
  const network = program.command('network').description('manage networks: overlay (every node), bridge, macvlan and ipvlan (one node each)');

  network
    .command('create')
    .description('create a network; without --subnet it gets a free block of the cluster\'s default address pools')
    .argument('<name>')
    .option('--driver <driver>', 'network driver: overlay (spans nodes), or bridge, macvlan or ipvlan (local to --node)', 'overlay')
    .option('--node <node>', 'the node a bridge, macvlan or ipvlan network lives on (required for those)')
    .option('--parent <dev>', "macvlan/ipvlan: the node's interface to hang off, e.g. eth0, or eth0.42 for an 802.1q VLAN the agent creates")
    .option('-o, --opt <key=value>', 'driver option (repeatable): icc=true|false (bridge), macvlan_mode=bridge|private, ipvlan_mode=l2|l3', collect, [])
    .option('--subnet <cidr>', 'IPv4 subnet, e.g. 10.0.1.0/24 (repeatable)', collect, [])
    .option('--gateway <ip>', 'gateway of the subnet in the same position (default: its first address) (repeatable)', collect, [])
    .option('--ip-range <cidr>', 'allocate addresses of the subnet in the same position from this range (repeatable)', collect, [])
    .option('--aux-address <name=ip>', 'address of a subnet never handed out (repeatable)', collect, [])
    .option('--internal', 'no egress to the outside world')
    .option('--attachable', "recorded only, for Docker's scripts: every sandbox, a service's backends included, connects by hand")
    .option('--mtu <bytes>', 'MTU of the network (576-9000; default: underlay MTU - 50)')
    .option('--label <key=value>', 'label of the network (repeatable)', collect, [])
    .option('--vni <vni>', 'VXLAN network identifier (4096-16777215; default: the lowest free)')
    .action((name: string, options: CreateOptions, command: Command) =>
      withControl(command, async (control) => {
        const created = await control.call((c) => c.createNetwork, {
          name,
          driver: options.driver,
          ...networkAddressing(options),
          internal: options.internal ?? false,
          attachable: options.attachable ?? false,
          mtu: options.mtu === undefined ? 0 : integerOption('--mtu', options.mtu, MTU_RANGE),
          labels: keyValues('--label', options.label),
          vni: options.vni === undefined ? 0 : integerOption('--vni', options.vni, VNI_RANGE),
          node: options.node ?? '',
          parent: options.parent ?? '',
          options: keyValues('--opt', options.opt, true),
        });
        print(created.id);
      }),
    );

  addListCommand(network, {
    description: 'list networks',
    fetch: (control) => control.listAll((c) => c.listNetworks, (page) => page.networks),
    header: ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'VNI', 'ENDPOINTS', 'NODE'],
    // Local networks show where they live (and off which interface), overlay networks "-": they span nodes.
    row: (n) => [shortId(n.id), n.name, n.driver, n.subnet, n.gateway, String(n.vni), String(n.endpoints.length), n.node ? `${n.node}${n.parent ? `/${n.parent}` : ''}` : '-'],
  });

  addInspectCommand(network, 'network', 'show a network, its subnets and its endpoints (JSON)', (control, reference) =>
    control.call((c) => c.getNetwork, { network: reference }),
  );
  addRemoveCommand(network, 'network', 'remove a network that has no endpoints and no services', (control, reference) =>
    control.call((c) => c.removeNetwork, { network: reference }),
  );

  network
    .command('connect')
    .description('attach a sandbox to a network')
    .argument('<network>')
    .argument('<sandbox>')
    .option('--ip <ip>', 'static IPv4 address inside one of the subnets')
    .option('--alias <name>', 'extra name for the endpoint (repeatable)', collect, [])
    .option('--mac <mac>', 'static MAC address (default: 02:42 followed by the IP)')
    .option('--hostname <name>', 'host name inside the sandbox (default: the sandbox name)')
    .option('--add-host <name:ip>', 'extra /etc/hosts entry (repeatable)', collect, [])
    .option('--dns <ip>', 'resolver address (repeatable)', collect, [])
    .option('--service <service>', 'make the endpoint a backend of this service')
    .option('--publish <host:container>', "forward a port of the sandbox's node to it, like docker run -p: HOST:CONTAINER[/tcp|udp] (repeatable)", collect, [])
    .option('--expose <port>', 'a port the sandbox listens on, like docker run --expose: PORT[/tcp|udp] (repeatable)', collect, [])
    .option('-P, --publish-all', "publish every --expose port on a free port of the node's ephemeral range (see trellis sandbox port)")
    .action((networkRef: string, sandboxRef: string, options: ConnectOptions, command: Command) =>
      withControl(command, async (control) => {
        await control.call((c) => c.connectNetwork, {
          network: networkRef,
          sandbox: sandboxRef,
          ip: options.ip ?? '',
          aliases: options.alias,
          mac: options.mac ?? '',
          hostname: options.hostname ?? '',
          extraHosts: options.addHost,
          dns: options.dns,
          service: options.service ?? '',
          publishedPorts: options.publish.map(parseHostPublish),
          publishAll: options.publishAll === true,
          exposedPorts: options.expose.map(parseExpose),
        });
      }),
    );

  network
    .command('disconnect')
    .description("detach a sandbox from a network; a service's backend drains first (no new flows, established ones kept for the service's drain timeout)")
    .argument('<network>')
    .argument('<sandbox>')
    .option('--force', 'remove at once, without draining (also ends a drain under way)')
    .action((networkRef: string, sandboxRef: string, options: { force?: boolean }, command: Command) =>
      withControl(command, async (control) => {
        await control.call((c) => c.disconnectNetwork, { network: networkRef, sandbox: sandboxRef, force: options.force === true });
      }),
    );
}
