/// <reference path="./holepunch.d.ts" />
import { createSocket } from 'node:dgram';
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
 *
 * Made as hyperdht makes a bootstrap node: told its own address up front. A node learns its
 * address (and so its id, which others check against the address before they route through it)
 * from the nodes that answer it; the first manager of a cluster has none to ask and would stay an
 * ephemeral client that nobody routes through. Every Trellis node binds the address peers reach
 * it at (no NAT in a cluster's underlay), so the address it binds is the one to announce.
 */
export async function startDhtNode(options: DhtNodeOptions): Promise<HyperDHT> {
  const port = await freeUdpPort(options.host, options.port);
  const node = HyperDHT.bootstrapper(port, options.host, {
    host: options.host,
    port,
    anyPort: false,
    ephemeral: false,
    firewalled: false,
    bootstrap: options.bootstrap.map(({ host, port: bootstrapPort }) => ({ host, port: bootstrapPort })),
  });
  try {
    await node.bind();
  } catch (error) {
    // Destroying a node whose bind failed rejects with the same error (and leaves its interface watcher running).
    await node.destroy({ force: true }).catch(() => undefined);
    throw cannotStart({ host: options.host, port }, error);
  }
  return node;
}

/**
 * `port` when it is free on host (udp), or any free port for 0: checked with a plain socket before
 * hyperdht binds, because a hyperdht node whose bind failed cannot be destroyed whole (it keeps a
 * handle that holds the process open, hyperdht 6.34), and because it must know its port before.
 */
async function freeUdpPort(host: string, port: number): Promise<number> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host, port, exclusive: true }, () => resolve());
    });
    return socket.address().port;
  } catch (error) {
    throw cannotStart({ host, port }, error);
  } finally {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

function cannotStart(where: { host: string; port: number }, error: unknown): Error {
  const reason = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is taken' : (error as Error).message;
  return new Error(`cannot start the gossip DHT node on ${where.host}:${where.port}/udp: ${reason}`);
}

/** The bound address of a started node. */
export function dhtNodeAddress(node: HyperDHT): DhtAddress {
  const address = node.address();
  if (address === null) throw new Error('the DHT node is not bound');
  return { host: address.host, port: address.port };
}
