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
  /** Of those, commands that repaired drift: run while the mesh wanted what its last successful sync had brought in line. */
  drift: number;
  /** Whether this sync read the kernel (a scoped one whose mesh did not change since its last successful sync does not). */
  read: boolean;
  skipped: string[];
  /** Why the host is not in line after this sync, when it is not (the next pass tries again). */
  failure?: string;
}

/** What the agent's metrics learn from each mesh sync. */
export interface MeshObserver {
  meshSynced(outcome: MeshOutcome, mesh: DesiredMesh): void;
}

/**
 * Published ports of services (routing mesh and `mode=host`) as a step of every reconcile pass:
 * observe the two mesh tables and the tunnel device, compute what the view and the ready
 * endpoints ask for, write only the difference. Level-triggered, so drift is repaired on the next
 * pass. It owns the `trellis_mesh` tables and the `trellis_in` device whole and nothing else.
 *
 * A scoped pass (a change elsewhere in the view) whose mesh is the one the last successful sync
 * brought in line reads nothing: five processes a pass saved on every node. A full pass always
 * reads, so drift is still found and repaired on the periodic pass.
 */
export class MeshStep {
  private lastReport = '';
  /** The mesh the last successful sync brought in line (serialized); undefined after a failure. */
  private inLine: string | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: MeshOptions,
    private readonly readyEndpoints: () => ReadonlySet<string>,
    private readonly logger?: Logger,
    private readonly observer?: MeshObserver,
  ) {}

  /**
   * `egressAddresses`: each sandbox's gw0 address by namespace, as the kernel pass just made them
   * (Reconciler.egressAddresses): the agent hands them out, so nothing needs reading back.
   * `scope`: the reconcile pass's.
   */
  async sync(view: NodeView, egressAddresses: ReadonlyMap<string, string>, scope: 'full' | 'scoped' = 'full'): Promise<MeshOutcome> {
    const { mesh, skipped } = desiredMesh(view, {
      ...this.options,
      ready: this.readyEndpoints(),
      gatewayAddresses: gatewayAddresses(view, egressAddresses),
    });
    const wanted = JSON.stringify(mesh);
    const unchanged = wanted === this.inLine;
    if (scope === 'scoped' && unchanged) return this.finish(mesh, { writes: 0, drift: 0, read: false, skipped });
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
    this.inLine = failure === undefined ? wanted : undefined;
    return this.finish(mesh, { writes, drift: unchanged ? writes : 0, read: true, skipped, ...(failure === undefined ? {} : { failure }) });
  }

  private finish(mesh: DesiredMesh, outcome: MeshOutcome): MeshOutcome {
    this.report(outcome.skipped, outcome.writes, outcome.failure);
    this.observer?.meshSynced(outcome, mesh);
    return outcome;
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
