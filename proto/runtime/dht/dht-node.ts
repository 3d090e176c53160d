/// <reference path="./holepunch.d.ts" />
import HyperDHT = require('hyperdht');

/*
 * The gossip DHT (issue #16): every manager runs a bootstrap node on its address, every agent a
 * persistent node bootstrapped from the managers and from the agents it knows, so the DHT — and
 * the agents' ability to find each other — survives when every manager is down. Here, beside the
 * other pieces both daemons share, because the manager runs one and the agent's transport
 * (agent/gossip/) runs another, and the two never import each other.
 */

export type DhtAddress = HyperDHT.Address;

export interface DhtNodeOptions {
  /** The address to bind (an IPv4 address of this node, or 0.0.0.0). */
  host: string;
  /** The UDP port; 0 for any free one (tests). A fixed port that is taken is an error, not a silent other port, since peers will look for it there. */
  port: number;
  /** The DHT nodes to join through. Always explicit: hyperdht's default list points at public hosts. */
  bootstrap: readonly DhtAddress[];
}

/**
 * Starts a persistent DHT node (a routing node from the start, not an ephemeral client) and
 * resolves once its port is bound. Bootstrapping goes on in the background: waiting for it would
 * hold a start for as long as unreachable bootstrap nodes take to time out (12 s measured with
 * every manager down), while lookups work as soon as one live node answers. With an empty
 * `bootstrap` it is the first node of a new DHT.
 */
export async function startDhtNode(options: DhtNodeOptions): Promise<HyperDHT> {
  const node = new HyperDHT({
    host: options.host,
    // hyperdht reads a port of 0 as its own default (49737); the empty range binds any free port.
    port: options.port === 0 ? [0, 0] : options.port,
    anyPort: false,
    ephemeral: false,
    firewalled: false,
    bootstrap: options.bootstrap.map(({ host, port }) => ({ host, port })),
  });
  try {
    await node.bind();
  } catch (error) {
    await node.destroy({ force: true });
    throw new Error(`cannot start the gossip DHT node on ${options.host}:${options.port}/udp: ${(error as Error).message}`);
  }
  return node;
}

/** The bound address of a started node. */
export function dhtNodeAddress(node: HyperDHT): DhtAddress {
  const address = node.address();
  if (address === null) throw new Error('the DHT node is not bound');
  return { host: address.host, port: address.port };
}
