import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DnsMetrics, DnsResult } from '../dns/model';
import type { ServedNamespaces } from '../dns/server';

const RESULTS: readonly DnsResult[] = ['answer', 'nodata', 'nxdomain', 'forwarded', 'servfail', 'refused', 'formerr'];

/** The resolver's figures, in the agent's registry: queries by type and result, upstream failures, time to answer. */
export class DnsPromMetrics implements DnsMetrics {
  private readonly queries: Counter<'type' | 'result'>;
  private readonly upstreamFailures: Counter<'upstream'>;
  private readonly answerSeconds: Histogram<'result'>;
  private readonly namespaces: Gauge<'state'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.queries = new Counter({
      name: 'trellis_dns_queries_total',
      help: "Queries the sandboxes' resolver answered, by query type (other for uncommon ones) and result (answer, nodata, nxdomain, forwarded, servfail, refused, formerr).",
      labelNames: ['type', 'result'],
      registers,
    });
    this.upstreamFailures = new Counter({
      name: 'trellis_dns_upstream_failures_total',
      help: 'Forwarded queries an upstream server (a --dns server or the host\'s) did not answer in time or refused to; the next one is tried, SERVFAIL after the last.',
      labelNames: ['upstream'],
      registers,
    });
    this.answerSeconds = new Histogram({
      name: 'trellis_dns_answer_seconds',
      help: 'From a query reaching the resolver to its answer being ready, by result: cluster names answer in well under a millisecond, forwarded ones take the upstream\'s time.',
      labelNames: ['result'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.namespaces = new Gauge({
      name: 'trellis_dns_namespaces',
      help: "Sandbox namespaces with the resolver's sockets on 127.0.0.11:53 (serving), and those of the view where they could not be made at the last pass (failing; the agent's log says why).",
      labelNames: ['state'],
      registers,
    });
    // A scrape shows 0, not nothing, before the first query.
    for (const result of RESULTS) this.queries.inc({ type: 'A', result }, 0);
    this.served({ serving: 0, failing: 0 });
  }

  /** `type` comes bounded from the resolver (uncommon types as 'other'), so no client can grow the series. */
  query(type: string, result: DnsResult, seconds: number): void {
    this.queries.inc({ type, result });
    this.answerSeconds.observe({ result }, seconds);
  }

  upstreamFailure(upstream: string): void {
    this.upstreamFailures.inc({ upstream });
  }

  served(namespaces: ServedNamespaces): void {
    this.namespaces.set({ state: 'serving' }, namespaces.serving);
    this.namespaces.set({ state: 'failing' }, namespaces.failing);
  }
}
