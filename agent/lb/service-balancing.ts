import { NameLedger } from '../name-ledger';
import type { LbService, LoadBalancer, NamespaceBalancing } from './model';

/** The ledger's file name in the agent's state directory: namespaces that may hold balancing objects. */
export const BALANCING_LEDGER = 'balancing-namespaces';

export interface BalancingOutcome {
  /** Engine changes applied (0 on a pass that found everything in place). */
  changes: number;
  /** Of those, changes that repaired drift: in namespaces this object had brought in line with what they still want. */
  drift: number;
  /** Namespaces read this pass. */
  read: number;
  /** Keys of the services every namespace that wants them now holds (see LbService.key). */
  programmed: ReadonlySet<string>;
  /** Why some namespaces could not be brought in line; empty when all were. */
  failures: string[];
}

/**
 * Keeps every sandbox namespace's balancing equal to what the view asks, after the kernel pass
 * that made the namespaces: level-triggered like the kernel.
 *
 * - A full sync reads every namespace that wants services or may still hold some (the ledger:
 *   names enter before anything is made there and leave once it is gone, so a restarted agent
 *   finds its own leftovers without reading the node's 1,000 namespaces that never had any).
 * - A scoped sync reads only namespaces whose wanted balancing changed since this object last
 *   brought them in line: a backend change touches the namespaces of its network, nothing else.
 */
export class ServiceBalancing<Observed, Change> {
  /** By namespace: what this object last brought it in line with. */
  private readonly applied = new Map<string, NamespaceBalancing>();
  private readonly ledger: NameLedger;

  constructor(
    private readonly engine: LoadBalancer<Observed, Change>,
    ledgerPath: string,
  ) {
    this.ledger = new NameLedger(ledgerPath);
  }

  get engineName(): string {
    return this.engine.engine;
  }

  get vipPorts(): LoadBalancer<Observed, Change>['vipPorts'] {
    return this.engine.vipPorts;
  }

  async sync(wanted: readonly NamespaceBalancing[], scope: 'full' | 'scoped'): Promise<BalancingOutcome> {
    const wantedByNetns = new Map(wanted.map((balancing) => [balancing.netns, balancing]));
    const recorded = new Set(this.ledger.names());
    const candidates = new Set([...wantedByNetns.keys(), ...recorded, ...this.applied.keys()]);
    const toRead = [...candidates].filter((netns) => {
      const want = wantedByNetns.get(netns) ?? emptyBalancing(netns);
      // Nothing wanted, nothing ever made: most of a busy node's namespaces, never read.
      if (want.services.length === 0 && !recorded.has(netns) && !this.applied.has(netns)) return false;
      return scope === 'full' || !sameBalancing(this.applied.get(netns), want);
    });
    const desired = toRead.map((netns) => wantedByNetns.get(netns) ?? emptyBalancing(netns));
    const failures: string[] = [];
    let changes = 0;
    let drift = 0;
    if (desired.length > 0) {
      const holding = desired.filter((balancing) => balancing.services.length > 0).map((balancing) => balancing.netns);
      this.ledger.record([...recorded, ...holding]);
      try {
        const observed = await this.engine.observe(toRead);
        const unchanged = (balancing: NamespaceBalancing): boolean => sameBalancing(this.applied.get(balancing.netns), balancing);
        const repairs = this.engine.plan(desired.filter(unchanged), observed);
        const planned = [...repairs, ...this.engine.plan(desired.filter((balancing) => !unchanged(balancing)), observed)];
        changes = planned.length;
        drift = repairs.length;
        if (planned.length > 0) await this.engine.apply(planned);
        for (const balancing of desired) this.bringInLine(balancing, wantedByNetns.has(balancing.netns));
        this.ledger.record([...[...recorded].filter((netns) => wantedByNetns.get(netns)?.services.length), ...holding]);
      } catch (error) {
        // Read again next pass, whatever this one managed.
        for (const balancing of desired) this.applied.delete(balancing.netns);
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    return { changes, drift, read: toRead.length, programmed: this.programmedKeys(wanted), failures };
  }

  private bringInLine(balancing: NamespaceBalancing, stillWanted: boolean): void {
    if (stillWanted) this.applied.set(balancing.netns, balancing);
    else this.applied.delete(balancing.netns);
  }

  /** A service key is programmed when no namespace that wants it lacks it. */
  private programmedKeys(wanted: readonly NamespaceBalancing[]): Set<string> {
    const programmed = new Set<string>();
    const missing = new Set<string>();
    for (const balancing of wanted) {
      const inLine = sameBalancing(this.applied.get(balancing.netns), balancing);
      for (const service of balancing.services) (inLine ? programmed : missing).add(service.key);
    }
    for (const key of missing) programmed.delete(key);
    return programmed;
  }
}

function emptyBalancing(netns: string): NamespaceBalancing {
  return { netns, services: [] };
}

/**
 * By service object: every sandbox of a network shares the same objects within a pass (see
 * desiredBalancing), so a service of a thousand backends is serialized once per pass, not once per
 * sandbox and comparison.
 */
const fingerprints = new WeakMap<LbService, string>();

function fingerprint(service: LbService): string {
  let known = fingerprints.get(service);
  if (known === undefined) {
    known = JSON.stringify(service);
    fingerprints.set(service, known);
  }
  return known;
}

function sameBalancing(a: NamespaceBalancing | undefined, b: NamespaceBalancing): boolean {
  if (a === undefined || a.services.length !== b.services.length) return false;
  return a.services.every((service, index) => {
    const other = b.services[index];
    return other !== undefined && (service === other || fingerprint(service) === fingerprint(other));
  });
}
