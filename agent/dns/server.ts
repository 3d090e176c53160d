import { closeSync, readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { netnsRunPath } from '../kernel/names';
import { inNetworkNamespace } from '../native/network-namespace';
import { tcpListenerIn, udpSocketIn } from '../native/sockets-in-namespace';
import { placeSandboxes } from '../reconcile/sandbox-placement';
import { RESOLVER_ADDRESS, RESOLVER_PORT, type Asker, type Resolver } from './model';
import { DEFAULT_LISTENER_LIMITS, serveNamespace, type ListenerLimits, type NamespaceListener } from './namespace-listener';

/** Opens the resolver's sockets in the namespace at `path` and serves them for `asker`; throws when it cannot. */
export type ListenerFactory = (path: string, asker: Asker) => NamespaceListener;

/**
 * Which namespace a path names now (device and inode of its nsfs file), or undefined when there
 * is none: a sandbox removed and made again under the same name is another namespace.
 */
export type NamespaceIdentity = (path: string) => string | undefined;

export interface ServedNamespaces {
  /** Namespaces with the resolver's sockets. */
  serving: number;
  /** Namespaces of the view whose sockets could not be made this time (retried on the next sync). */
  failing: number;
}

interface Served {
  identity: string;
  listener: NamespaceListener;
}

/**
 * Keeps the resolver's UDP socket and TCP listener on 127.0.0.11:53 in the namespace of every
 * sandbox of the view, level-triggered like the kernel passes: each sync opens what is missing
 * (a new sandbox, one whose namespace was made again, one that failed before) and closes what
 * the view no longer has. A namespace whose sockets cannot be made (lo down in an adopted one,
 * the port taken) is logged once per distinct problem and tried again on the next sync; nothing
 * here ever throws into the agent.
 *
 * The sockets are made inside each namespace and served from the agent's own, so they also hold
 * the namespace: closing them when its sandbox leaves is what lets the kernel free it.
 */
export class DnsServer {
  private readonly served = new Map<string, Served>();
  /** By namespace name: the last problem logged, so a namespace failing the same way every pass is logged once. */
  private readonly problems = new Map<string, string>();

  constructor(
    private readonly logger: Logger,
    private readonly open: ListenerFactory,
    private readonly identify: NamespaceIdentity = namespaceIdentity,
  ) {}

  sync(view: NodeView): ServedNamespaces {
    const wanted = new Map<string, string>();
    // The reconciler reports a sandbox it cannot place; there is no namespace to serve. The host's
    // namespace is never written in, and "none" has no resolver (Docker's neither): no network to
    // ask about, and the agent would be its way to the host's resolvers.
    for (const placed of placeSandboxes(view.sandboxes).namespaces.values()) {
      if (placed.origin.kind !== 'host' && placed.mode !== 'none') wanted.set(placed.netnsName, netnsRunPath(placed.netns));
    }
    for (const [netnsName, served] of this.served) {
      if (!wanted.has(netnsName)) this.stop(netnsName, served);
    }
    for (const netnsName of this.problems.keys()) if (!wanted.has(netnsName)) this.problems.delete(netnsName);
    let failing = 0;
    for (const [netnsName, path] of wanted) {
      const identity = this.identify(path);
      const served = this.served.get(netnsName);
      if (served !== undefined && served.identity === identity) continue;
      if (served !== undefined) this.stop(netnsName, served);
      if (!this.start(netnsName, path, identity)) failing += 1;
    }
    return { serving: this.served.size, failing };
  }

  /** Closes every socket: the agent stops. */
  close(): void {
    for (const [netnsName, served] of this.served) this.stop(netnsName, served);
    this.problems.clear();
  }

  private start(netnsName: string, path: string, identity: string | undefined): boolean {
    try {
      if (identity === undefined) throw new Error(`the namespace ${path} does not exist (yet)`);
      this.served.set(netnsName, { identity, listener: this.open(path, { netnsName }) });
      if (this.problems.delete(netnsName)) this.logger.info({ netns: netnsName, path }, 'DNS resolver serving again in the sandbox');
      return true;
    } catch (error) {
      const problem = explained(error instanceof Error ? error.message : String(error));
      if (this.problems.get(netnsName) !== problem) {
        this.problems.set(netnsName, problem);
        this.logger.warn({ netns: netnsName, path, problem }, 'cannot serve the DNS resolver in the sandbox; retrying on every pass');
      }
      return false;
    }
  }

  private stop(netnsName: string, served: Served): void {
    this.served.delete(netnsName);
    served.listener.close();
  }
}

/** What the socket errors a sandbox's namespace gives mean there, for whoever reads the log. */
function explained(message: string): string {
  if (/errno 99\b/.test(message)) return `${message}: ${RESOLVER_ADDRESS} is there only while lo is up`;
  if (/errno 98\b/.test(message)) return `${message}: something else listens on ${RESOLVER_ADDRESS}:${RESOLVER_PORT} there`;
  return message;
}

export function namespaceIdentity(path: string): string | undefined {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The real factory: sockets made inside the namespace in-process (setns, microseconds each),
 * served by `resolver`. A client's error is logged at debug level: it is the client's.
 */
export function namespaceListeners(resolver: Resolver, logger: Logger, limits: ListenerLimits = DEFAULT_LISTENER_LIMITS): ListenerFactory {
  return (path, asker) => {
    if (!loopbackRoutesIn(path)) throw new Error(`${RESOLVER_ADDRESS} is not local in ${path} yet: its lo has never been up`);
    const udpFd = udpSocketIn(path, RESOLVER_ADDRESS, RESOLVER_PORT);
    let tcpFd: number;
    try {
      tcpFd = tcpListenerIn(path, RESOLVER_ADDRESS, RESOLVER_PORT);
    } catch (error) {
      closeSync(udpFd);
      throw error;
    }
    const onError = (error: Error) => logger.debug({ netns: asker.netnsName, error: error.message }, 'DNS client error');
    return serveNamespace(udpFd, tcpFd, asker, resolver, onError, limits);
  };
}

/**
 * Whether the namespace's local routing table holds 127.0.0.0/8, which it does from the first
 * time its lo is up on. Before that the kernel lets a socket bind 127.0.0.11 but answers from it
 * come from 127.0.0.1, and a resolver client that checks the reply's source (dig, glibc) drops
 * them: such a namespace is served only once lo has been up. Read while inside it, so
 * /proc/thread-self/net is that namespace's.
 */
function loopbackRoutesIn(path: string): boolean {
  return inNetworkNamespace(path, () => /\|-- 127\.0\.0\.0\s+\/8 host LOCAL/.test(readFileSync('/proc/thread-self/net/fib_trie', 'utf8')));
}
