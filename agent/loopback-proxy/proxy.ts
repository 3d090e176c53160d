import { closeSync } from 'node:fs';
import type { Logger } from 'pino';
import type { PublishedPort } from '../firewall/model';
import { forwardKey, planProxy, targetOf, type LoopbackForward } from './plan';
import { LOOPBACK, type SocketPlace } from './place';
import type { Relay, RelayHooks, Target } from './relay';
import { relayTcp } from './tcp-relay';
import { relayUdp, type UdpLimits } from './udp-relay';

export interface ProxyLimits extends UdpLimits {
  /** TCP connections one published port relays at once; more wait in the listen queue. */
  tcpConnections: number;
}

export const DEFAULT_PROXY_LIMITS: ProxyLimits = { idleMs: 90_000, maxFlows: 1024, tcpConnections: 1024 };

export interface ProxyStatus {
  /** Published ports with a listener on 127.0.0.1. */
  listening: number;
  /** Published ports whose listener could not be made at the last sync (retried on the next; the log says why). */
  failing: number;
}

export interface ProxyObserver {
  proxied(status: ProxyStatus): void;
  relayed(protocol: LoopbackForward['protocol']): void;
}

interface Listener {
  forward: LoopbackForward;
  relay: Relay;
}

/**
 * The loopback half of published ports: a listener on 127.0.0.1:HOST_PORT in the host namespace
 * for each published port of the node, relaying to the port's DNAT target. Level-triggered like
 * the kernel passes: each sync opens what is missing (also what failed before), closes what is no
 * longer published and points the rest at their current target. A port that cannot be listened on
 * (something else has 127.0.0.1:PORT) is logged once per distinct problem and tried again on every
 * sync; nothing here throws into the agent.
 */
export class LoopbackProxy {
  private readonly listeners = new Map<string, Listener>();
  private readonly problems = new Map<string, string>();

  constructor(
    private readonly place: SocketPlace,
    private readonly logger: Logger,
    private readonly observer?: ProxyObserver,
    private readonly limits: ProxyLimits = DEFAULT_PROXY_LIMITS,
  ) {}

  sync(published: readonly PublishedPort[]): ProxyStatus {
    const current = new Map([...this.listeners].map(([key, listener]) => [key, targetOf(listener.forward)]));
    const plan = planProxy(current, published);
    for (const key of plan.close) this.stop(key);
    for (const forward of plan.retarget) {
      const listener = this.listeners.get(forwardKey(forward));
      if (listener !== undefined) listener.forward = forward;
    }
    const wanted = new Set(published.map(forwardKey));
    for (const key of this.problems.keys()) if (!wanted.has(key)) this.problems.delete(key);
    let failing = 0;
    for (const forward of plan.open) if (!this.start(forward)) failing += 1;
    const status = { listening: this.listeners.size, failing };
    this.observer?.proxied(status);
    return status;
  }

  close(): void {
    for (const key of [...this.listeners.keys()]) this.stop(key);
    this.problems.clear();
  }

  private start(forward: LoopbackForward): boolean {
    const key = forwardKey(forward);
    try {
      // Read at each connection or flow: a retarget reaches the next one.
      const relay = this.relay(forward, () => this.listeners.get(key)?.forward ?? forward);
      this.listeners.set(key, { forward, relay });
      if (this.problems.delete(key)) this.logger.info({ port: key }, `published port answers on ${LOOPBACK} again`);
      return true;
    } catch (error) {
      const problem = explained(error instanceof Error ? error.message : String(error), forward);
      if (this.problems.get(key) !== problem) {
        this.problems.set(key, problem);
        this.logger.warn({ port: key, problem }, `published port cannot answer on ${LOOPBACK}; retrying on every pass`);
      }
      return false;
    }
  }

  private relay(forward: LoopbackForward, target: () => Target): Relay {
    const hooks: RelayHooks = {
      relayed: () => this.observer?.relayed(forward.protocol),
      onError: (error) => this.logger.debug({ port: forwardKey(forward), error: error.message }, 'loopback proxy client error'),
    };
    if (forward.protocol === 'tcp') {
      const fd = this.place.tcpListener(forward.hostPort);
      return closingOnThrow(fd, () => relayTcp(fd, target, () => this.place.tcpDialer(), hooks, this.limits.tcpConnections));
    }
    const fd = this.place.udpListener(forward.hostPort);
    return closingOnThrow(fd, () => relayUdp(fd, target, () => this.place.udpDialer(), hooks, this.limits));
  }

  private stop(key: string): void {
    this.listeners.get(key)?.relay.close();
    this.listeners.delete(key);
  }
}

function closingOnThrow(fd: number, serve: () => Relay): Relay {
  try {
    return serve();
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** What the socket errors mean, for whoever reads the log. */
function explained(message: string, forward: LoopbackForward): string {
  const at = `${LOOPBACK}:${forward.hostPort}/${forward.protocol}`;
  if (/errno 98\b/.test(message)) return `${message}: something else on the host listens on ${at}; it answers there instead of the sandbox`;
  if (/errno 99\b/.test(message)) return `${message}: ${LOOPBACK} is not an address of the host namespace (is lo up?)`;
  return message;
}
