import type { PublishedPort } from '../firewall/model';

/**
 * What the loopback proxy listens on, from the node's published ports. A published port is DNAT
 * on every address of the host but 127.0.0.1: reaching a sandbox from loopback by DNAT would need
 * route_localnet, which also lets the host's loopback-only services be reached from outside
 * (CVE-2020-8558). So for 127.0.0.1 the agent relays in userland instead, as docker-proxy does.
 */

export interface LoopbackForward {
  protocol: 'tcp' | 'udp';
  /** Listened on at 127.0.0.1 in the host namespace. */
  hostPort: number;
  /** Where each connection (TCP) or client flow (UDP) is relayed to: the DNAT target. */
  address: string;
  port: number;
}

/** "tcp 8080": one listener per protocol and host port. */
export function forwardKey(forward: Pick<LoopbackForward, 'protocol' | 'hostPort'>): string {
  return `${forward.protocol} ${forward.hostPort}`;
}

export function targetOf(forward: Pick<LoopbackForward, 'address' | 'port'>): string {
  return `${forward.address}:${forward.port}`;
}

export interface ProxyPlan {
  /** Listeners to open. */
  open: LoopbackForward[];
  /** Listeners that stay, relaying new connections and flows to a new target. */
  retarget: LoopbackForward[];
  /** Keys of listeners to close. */
  close: string[];
}

/**
 * From the listeners there are (key → target) to those `published` asks for. The first of two
 * published ports on one key wins (the reconciler never plans two). Pure.
 */
export function planProxy(current: ReadonlyMap<string, string>, published: readonly PublishedPort[]): ProxyPlan {
  const wanted = new Map<string, LoopbackForward>();
  for (const { protocol, hostPort, address, port } of published) {
    const forward = { protocol, hostPort, address, port };
    if (!wanted.has(forwardKey(forward))) wanted.set(forwardKey(forward), forward);
  }
  const plan: ProxyPlan = { open: [], retarget: [], close: [] };
  for (const key of current.keys()) if (!wanted.has(key)) plan.close.push(key);
  for (const [key, forward] of wanted) {
    const target = current.get(key);
    if (target === undefined) plan.open.push(forward);
    else if (target !== targetOf(forward)) plan.retarget.push(forward);
  }
  return plan;
}
