import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { DnsPromMetrics } from '../metrics/dns-metrics';
import { hostResolvers } from './host-resolvers';
import type { Resolver } from './model';
import { createResolver } from './responder';
import { DnsServer, namespaceListeners, type ServedNamespaces } from './server';

/**
 * How long one upstream gets. A client's own resolver waits 5 s for a reply before it asks again
 * (glibc's RES_TIMEOUT, dig's default): with 2 s each, even a sandbox with two dead upstreams gets
 * its SERVFAIL before that, a definite answer instead of a retry that would wait as long again.
 */
export const UPSTREAM_TIMEOUT_MS = 2_000;

export interface ServedObserver {
  served(namespaces: ServedNamespaces): void;
}

/**
 * The agent's DNS as the reconcile loop drives it: after each pass the resolver answers from the
 * view the kernel now holds and every sandbox namespace has its sockets; a readiness change alone
 * reaches the answers at once, without waiting for the pass it also causes.
 */
export class AgentDns {
  private view: NodeView | undefined;

  constructor(
    private readonly resolver: Resolver,
    private readonly server: DnsServer,
    private readonly observer?: ServedObserver,
  ) {}

  /** The resolver with the host's resolvers as upstreams, served in every sandbox; metrics in `registry` when given. */
  static start(logger: Logger, registry?: Registry): AgentDns {
    const metrics = registry === undefined ? undefined : new DnsPromMetrics(registry);
    const upstreams = hostResolvers();
    if (upstreams.length === 0) logger.warn('no nameserver in /etc/resolv.conf: names outside the cluster get SERVFAIL in sandboxes without --dns');
    else logger.info({ hostResolvers: upstreams }, 'DNS resolver: upstreams of sandboxes without --dns');
    const resolver = createResolver({ hostResolvers: upstreams, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, metrics });
    return new AgentDns(resolver, new DnsServer(logger, namespaceListeners(resolver, logger)), metrics);
  }

  /** After a pass that made `view`'s namespaces. Timer passes over the same view rebuild nothing. */
  passed(view: NodeView, ready: ReadonlySet<string>): void {
    if (view !== this.view) this.resolver.update(view, ready);
    this.view = view;
    this.observer?.served(this.server.sync(view));
  }

  readinessChanged(ready: ReadonlySet<string>): void {
    if (this.view !== undefined) this.resolver.update(this.view, ready);
  }

  close(): void {
    this.server.close();
  }
}
