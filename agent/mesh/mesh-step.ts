import type { Logger } from 'pino';
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { normalizeListing } from '../firewall/listing';
import { CommandFailed, type CommandRunner } from '../kernel';
import { parseFdb, parseJsonArray, parseLinks, parseNeighbours } from '../kernel/iproute-json';
import { placeSandbox } from '../reconcile/sandbox-placement';
import { desiredMesh } from './desired-mesh';
import type { DesiredMesh } from './model';
import { MESH_DEVICE, MESH_TABLE } from './names';
import { renderForwardTable, renderNatTable, tableScript, type MeshFamily } from './render';
import { planTunnel, type ObservedTunnel } from './tunnel';

export interface MeshOptions {
  underlayDevice: string;
  /** This node's underlay (advertise) address. */
  localAddress: string;
}

export interface MeshOutcome {
  /** Commands run this sync: 0 on a converged host. */
  writes: number;
  skipped: string[];
  /** Why the host is not in line after this sync, when it is not (the next pass tries again). */
  failure?: string;
}

/**
 * Published ports of services (routing mesh and `mode=host`) as a step of every reconcile pass:
 * observe the two mesh tables and the tunnel device, compute what the view and the ready
 * endpoints ask for, write only the difference. Level-triggered, so drift is repaired on the next
 * pass. It owns the `trellis_mesh` tables and the `trellis_in` device whole and nothing else.
 */
export class MeshStep {
  private lastReport = '';

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: MeshOptions,
    private readonly readyEndpoints: () => ReadonlySet<string>,
    private readonly logger?: Logger,
  ) {}

  /**
   * `egressAddresses`: each sandbox's gw0 address by namespace, as the kernel pass just made them
   * (Reconciler.egressAddresses): the agent hands them out, so nothing needs reading back.
   */
  async sync(view: NodeView, egressAddresses: ReadonlyMap<string, string>): Promise<MeshOutcome> {
    const { mesh, skipped } = desiredMesh(view, {
      ...this.options,
      ready: this.readyEndpoints(),
      gatewayAddresses: gatewayAddresses(view, egressAddresses),
    });
    let writes = 0;
    const apply = async (argv: readonly string[], stdin?: string): Promise<void> => {
      await this.runner.run(argv, stdin);
      writes += 1;
    };
    let failure: string | undefined;
    try {
      // The tables after the tunnel: a forwarding rule naming a device that does not exist yet is refused.
      for (const command of planTunnel(mesh, await this.observeTunnel())) await apply(command);
      for (const [family, wanted] of wantedTables(mesh)) {
        if ((await this.listTable(family)) !== wanted) await apply(['nft', '-f', '-'], tableScript(family, wanted));
      }
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    this.report(skipped, writes, failure);
    return { writes, skipped, ...(failure === undefined ? {} : { failure }) };
  }

  /** Takes the mesh's tables and tunnel device off this host (`agent --remove-all`). */
  removeAll(): Promise<MeshOutcome> {
    return this.sync(NodeView.fromPartial({}), new Map());
  }

  private async observeTunnel(): Promise<ObservedTunnel> {
    const links = await this.runner.run(['ip', '-j', '-d', 'link', 'show']).then(parseLinks);
    const link = links.find((candidate) => candidate.name === MESH_DEVICE);
    if (link === undefined) return { link, addresses: [], rpFilter: undefined, fdb: [], neighbours: [] };
    const addresses = addressesOf(await this.runner.run(['ip', '-j', '-4', 'addr', 'show', 'dev', MESH_DEVICE]));
    const rpFilter = Number((await this.runner.run(['sysctl', '-n', `net.ipv4.conf.${MESH_DEVICE}.rp_filter`])).trim());
    const fdb = parseFdb(await this.runner.run(['bridge', '-j', 'fdb', 'show', 'dev', MESH_DEVICE]));
    const neighbours = parseNeighbours(await this.runner.run(['ip', '-j', 'neigh', 'show', 'dev', MESH_DEVICE]));
    return { link, addresses, rpFilter, fdb, neighbours };
  }

  private async listTable(family: MeshFamily): Promise<string | undefined> {
    try {
      return normalizeListing(await this.runner.run(['nft', 'list', 'table', family, MESH_TABLE]));
    } catch (error) {
      if (error instanceof CommandFailed && /No such file or directory/.test(error.stderr)) return undefined;
      throw error;
    }
  }

  private report(skipped: readonly string[], writes: number, failure: string | undefined): void {
    const key = skipped.join('\n');
    if (failure !== undefined) this.logger?.warn({ failure, writes }, 'published ports (routing mesh, host mode) not in line; next pass retries');
    else if (writes > 0) this.logger?.info({ writes }, 'published ports (routing mesh, host mode) brought in line');
    if (key === this.lastReport) return;
    this.lastReport = key;
    if (skipped.length > 0) this.logger?.warn({ skipped }, 'published ports that cannot be programmed here');
  }
}

/** The gw0 address of each sandbox of the view that has one, by sandbox id (adopted namespaces keep their own way out: none). */
function gatewayAddresses(view: NodeView, egressAddresses: ReadonlyMap<string, string>): Map<string, string> {
  const addresses = new Map<string, string>();
  for (const sandbox of view.sandboxes) {
    const placement = placeSandbox(sandbox);
    if ('problem' in placement || placement.origin.kind !== 'created') continue;
    const address = egressAddresses.get(placement.netns);
    if (address !== undefined) addresses.set(sandbox.id, address);
  }
  return addresses;
}

function wantedTables(mesh: DesiredMesh): [MeshFamily, string | undefined][] {
  return [
    ['ip', renderNatTable(mesh)],
    ['netdev', renderForwardTable(mesh)],
  ];
}

/** "address/prefix" of each address in `ip -j addr show` output. */
function addressesOf(text: string): string[] {
  return parseJsonArray(text).flatMap((entry) => {
    const infos: unknown[] = Array.isArray(entry['addr_info']) ? entry['addr_info'] : [];
    return infos.flatMap((info) => {
      const { local, prefixlen } = (info ?? {}) as { local?: unknown; prefixlen?: unknown };
      return typeof local === 'string' && typeof prefixlen === 'number' ? [`${local}/${prefixlen}`] : [];
    });
  });
}
