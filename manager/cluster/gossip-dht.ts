/// <reference path="../../proto/runtime/dht/holepunch.d.ts" />
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import { hostOf, managerDhtNodes } from '../../proto/runtime/dht/bootstrap';
import { dhtNodeAddress, startDhtNode, type DhtAddress } from '../../proto/runtime/dht/dht-node';
import { DHT_PROTOCOL } from '../../proto/runtime/dht/ports';

/*
 * Every manager runs a bootstrap node of the agents' gossip DHT (issue #16) on the host of its
 * --listen address, joined to the other managers' nodes: agents bootstrap from the managers, and
 * keep the DHT up among themselves once they know each other.
 */

const GOSSIP_DHT_PORT_FLAG = '--gossip-dht-port';

export interface ManagerDht {
  /** The bound address (the port chosen, with 0). */
  address: DhtAddress;
  close(): Promise<void>;
}

/**
 * The other managers' DHT nodes: on the hosts of the Raft members' API addresses (and of the one
 * this manager joins through, before it knows the members), at this manager's port, which every
 * manager of a cluster shares. With port 0 (any free port, tests) the others' ports are unknown:
 * none.
 */
export function managerDhtBootstrap(apiAddresses: readonly string[], self: string, port: number): DhtAddress[] {
  return port === 0 ? [] : managerDhtNodes(apiAddresses, port, hostOf(self));
}

/**
 * Starts this manager's DHT bootstrap node on the host of `listen` (resolved to IPv4: the DHT
 * speaks IPv4 only). A port that is taken, or a host without an IPv4 address, is an error naming
 * the flag: agents look for the node at that port, so no other port will do.
 */
export async function startManagerDht(options: { listen: string; port: number; peers: readonly string[]; logger: Logger }): Promise<ManagerDht> {
  const listenHost = hostOf(options.listen);
  const host = isIPv4(listenHost) ? listenHost : await ipv4Of(listenHost, options.port);
  const bootstrap = managerDhtBootstrap(options.peers, options.listen, options.port);
  let node;
  try {
    node = await startDhtNode({ host, port: options.port, bootstrap });
  } catch (error) {
    throw new Error(
      `${GOSSIP_DHT_PORT_FLAG}: ${(error as Error).message}; free ${options.port}/${DHT_PROTOCOL} on ${host}, or give every manager another port with ${GOSSIP_DHT_PORT_FLAG} (agents then need it too)`,
    );
  }
  const address = dhtNodeAddress(node);
  options.logger.info({ address: `${address.host}:${address.port}/${DHT_PROTOCOL}`, bootstrap: bootstrap.map((peer) => `${peer.host}:${peer.port}`) }, 'gossip DHT bootstrap node listening');
  return { address, close: () => node.destroy() };
}

async function ipv4Of(host: string, port: number): Promise<string> {
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    throw new Error(`${GOSSIP_DHT_PORT_FLAG}: the gossip DHT node (${port}/${DHT_PROTOCOL}) binds to the host of --listen, and "${host}" has no IPv4 address (the DHT speaks IPv4 only); give --listen an IPv4 address`);
  }
}
