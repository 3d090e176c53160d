import type { Logger } from 'pino';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { balancedServiceKey, desiredBalancing } from './desired-balancing';
import type { NamespaceBalancing } from './model';
import type { BalancingOutcome, ServiceBalancing } from './service-balancing';

/** What the agent's metrics learn from each balancing sync. */
export interface BalancingObserver {
  balanced(engine: string, outcome: BalancingOutcome, wanted: readonly NamespaceBalancing[], readySeconds: readonly number[]): void;
}

/**
 * Service balancing as a step of every reconcile pass, once the pass has made the namespaces:
 * the same view, the endpoints the managers call ready at that moment, the same scope. A change
 * of readiness alone (a node went down) reaches it as a pass of its own (the agent offers the view
 * again), so a backend leaves the rules within one pass of the news.
 */
export class BalancingStep {
  /** When each backend that is not in this node's rules yet was reported ready: for the latency metric. */
  private readonly readySince = new Map<string, number>();
  private knownReady: ReadonlySet<string> = new Set();
  private lastFailures = '';

  constructor(
    private readonly balancing: ServiceBalancing<unknown, unknown>,
    private readonly readyEndpoints: () => ReadonlySet<string>,
    private readonly logger: Logger,
    private readonly observer?: BalancingObserver,
  ) {
    if (balancing.vipPorts === 'declared') {
      logger.info(
        { engine: balancing.engineName },
        "service VIPs answer only the ports their service declares (--publish targets) with this engine; nftables balances every port (--lb nftables)",
      );
    }
  }

  /** Notes which endpoints the managers call ready now, timing those that just became ready (for the time-to-rules metric). */
  becameReady(ready: ReadonlySet<string>, at = performance.now()): void {
    for (const id of ready) if (!this.knownReady.has(id) && !this.readySince.has(id)) this.readySince.set(id, at);
    this.knownReady = new Set(ready);
  }

  /** Brings the namespaces in line; returns, per service of the view, the revision whose rules this node holds. */
  async sync(view: NodeView, scope: 'full' | 'scoped', unprogrammed: readonly string[] = []): Promise<Record<string, number>> {
    const ready = this.readyEndpoints();
    const wanted = desiredBalancing(view, ready, new Set(unprogrammed));
    const outcome = await this.balancing.sync(wanted, scope);
    this.reportFailures(view, outcome.failures);
    const wantedKeys = new Set(wanted.flatMap((balancing) => balancing.services.map((service) => service.key)));
    const inRules = (key: string): boolean => !wantedKeys.has(key) || outcome.programmed.has(key);
    const programmed: Record<string, number> = {};
    for (const service of view.services) {
      if (service.vips.every((vip) => inRules(balancedServiceKey(service.id, vip.networkId)))) programmed[service.id] = service.revision;
    }
    this.observer?.balanced(this.balancing.engineName, outcome, wanted, this.settledReadiness(view, ready, wantedKeys, outcome.programmed));
    return programmed;
  }

  /** Seconds from ready to in this node's rules, for each backend some namespace here balances to that got there this sync. */
  private settledReadiness(view: NodeView, ready: ReadonlySet<string>, wantedKeys: ReadonlySet<string>, programmed: ReadonlySet<string>): number[] {
    const now = performance.now();
    const settled: number[] = [];
    for (const endpoint of view.endpoints) {
      const since = this.readySince.get(endpoint.id);
      if (since === undefined) continue;
      const key = balancedServiceKey(endpoint.serviceId, endpoint.networkId);
      // Not a backend any namespace here calls: nothing to wait for.
      if (endpoint.serviceId === '' || !wantedKeys.has(key)) this.readySince.delete(endpoint.id);
      else if (ready.has(endpoint.id) && programmed.has(key)) {
        settled.push((now - since) / 1000);
        this.readySince.delete(endpoint.id);
      }
    }
    for (const id of this.readySince.keys()) if (!ready.has(id)) this.readySince.delete(id);
    return settled;
  }

  private reportFailures(view: NodeView, failures: readonly string[]): void {
    const key = failures.join('\n');
    if (key === this.lastFailures) return;
    this.lastFailures = key;
    if (failures.length > 0) this.logger.warn({ revision: view.revision, failures }, 'service balancing is not in line everywhere');
    else this.logger.info({ revision: view.revision }, 'service balancing in line again');
  }
}
