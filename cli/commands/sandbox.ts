import type { Command } from 'commander';
import type { Sandbox } from '../../proto/gen/trellis/v1/types';
import { CommandError } from '../command-error';
import { formatOption, withControl, type OutputFormat } from '../context';
import { parseExpose, parseSandboxNetwork } from '../option-parsers';
import { json, portMapping, print, shortId } from '../output';
import { addInspectCommand, addListCommand, addRemoveCommand } from './object-commands';

export function addSandboxCommands(program: Command): void {
  const sandbox = program.command('sandbox').description('manage sandboxes (network namespaces on a node)');

  sandbox
    .command('create')
    .description('create a sandbox; the agent on NODE makes its network namespace, or adopts an existing one (--netns)')
    .argument('<name>')
    .requiredOption('--node <node>', 'node that hosts the sandbox')
    .option('--netns <path>', 'adopt a namespace made elsewhere: /run/netns/NAME or /proc/PID/ns/net (never deleted by Trellis)')
    .option('--network <mode>', "like docker run --network: none (loopback only), host (the node's own namespace) or container:SANDBOX (same as --netns-from SANDBOX)")
    .option('--netns-from <sandbox>', 'share the namespace of another sandbox on the same node (it stays until both are removed)')
    .action((name: string, options: CreateOptions, command: Command) =>
      withControl(command, async (control) => {
        const created = await control.call((c) => c.createSandbox, { name, node: options.node, netns: options.netns ?? '', ...sandboxNetworking(options) });
        print(created.id);
      }),
    );

  addListCommand(sandbox, {
    description: 'list sandboxes',
    fetch: (control) => control.listAll((c) => c.listSandboxes, (page) => page.sandboxes),
    header: ['SANDBOX ID', 'NAME', 'NODE', 'NETWORKS', 'PORTS'],
    row: (s) => [
      shortId(s.id),
      s.name,
      s.node,
      // A sandbox that joins no network says why: --network none|host, or another's namespace (container:ID).
      s.endpoints.map((e) => `${e.networkName}=${e.ip}`).join(',') || s.networkMode || (s.netnsFrom ? `container:${shortId(s.netnsFrom)}` : '-'),
      s.endpoints.flatMap((e) => e.publishedPorts.map((p) => portMapping(p.hostPort, p.port, p.protocol))).join(',') || '-',
    ],
  });

  sandbox
    .command('port')
    .description('list the published ports of a sandbox, like docker port: CONTAINER_PORT/PROTO -> 0.0.0.0:HOST_PORT')
    .argument('<sandbox>')
    .argument('[port]', 'only this port of the sandbox: PORT[/tcp|udp]')
    .addOption(formatOption())
    .action((reference: string, only: string | undefined, options: { format: OutputFormat }, command: Command) =>
      withControl(command, async (control) => {
        const ports = publishedPorts(await control.call((c) => c.getSandbox, { sandbox: reference }), only);
        if (options.format === 'json') return print(json(ports));
        if (only !== undefined && ports.length === 0) throw new CommandError(`sandbox "${reference}" publishes no port ${only}`);
        // Published ports answer on every address of the node, as docker's 0.0.0.0.
        for (const port of ports) print(`${port.port}/${port.protocol} -> 0.0.0.0:${port.hostPort}`);
      }),
    );

  addInspectCommand(sandbox, 'sandbox', 'show a sandbox, its namespace path and its endpoints with their published ports (JSON)', (control, reference) =>
    control.call((c) => c.getSandbox, { sandbox: reference }),
  );
  addRemoveCommand(sandbox, 'sandbox', "remove a sandbox and its endpoints; service backends among them drain first, and the sandbox goes when they have (inspect shows it removing)", (control, reference) =>
    control.call((c) => c.removeSandbox, { sandbox: reference }),
  );
}

interface CreateOptions {
  node: string;
  netns?: string;
  network?: string;
  netnsFrom?: string;
}

function sandboxNetworking(options: CreateOptions): { networkMode: string; netnsFrom: string } {
  const fromNetwork = options.network === undefined ? { networkMode: '', netnsFrom: '' } : parseSandboxNetwork(options.network);
  if (options.netnsFrom === undefined) return fromNetwork;
  if (options.network !== undefined) throw new CommandError(`--netns-from: give it or --network ${options.network}, not both`);
  return { networkMode: '', netnsFrom: options.netnsFrom };
}

/** Every published port of the sandbox's endpoints, by interface, or those of one sandbox port (`PORT[/PROTO]`). */
function publishedPorts(sandbox: Sandbox, only: string | undefined): { network: string; protocol: string; port: number; hostPort: number }[] {
  const wanted = only === undefined ? undefined : parseExpose(only);
  return sandbox.endpoints.flatMap((endpoint) =>
    endpoint.publishedPorts
      .filter((port) => wanted === undefined || (port.port === wanted.port && port.protocol === wanted.protocol))
      .map((port) => ({ network: endpoint.networkName, protocol: port.protocol, port: port.port, hostPort: port.hostPort })),
  );
}
