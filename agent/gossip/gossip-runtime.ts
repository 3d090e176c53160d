import type { Logger } from 'pino';
import { managerDhtNodes } from '../../proto/runtime/dht/bootstrap';
import { AGENT_DHT_PORT, MANAGER_DHT_PORT } from '../../proto/runtime/dht/ports';
import { startHyperswarmTransport, type HyperswarmTransport } from './hyperswarm-transport';
import type { GossipTransportMetrics } from './transport-metrics';

export interface GossipRuntimeOptions {
  /** The agent's state directory: its gossip seed (so its key) and the DHT nodes it knew last. */
  stateDir: string;
  /**
   * The cluster's id: the O of the node's certificate (`identityFromPem(certPem).clusterId`),
   * the same for every node of the cluster and kept across certificate renewals and root
   * rotations. Topics are the cluster's only.
   */
  clusterId: string;
  /** The managers' API addresses (HOST:PORT, the agent's --manager list): their DHT nodes are on the same hosts. */
  managers: readonly string[];
  /** The managers' DHT port (their --gossip-dht-port): MANAGER_DHT_PORT unless given. */
  managerDhtPort?: number;
  /** This node's underlay IPv4 address (--advertise-addr): its DHT node binds it, where the other nodes reach it. */
  advertiseAddr: string;
  /** This node's DHT port: AGENT_DHT_PORT unless given; 0 for any free port (tests). */
  dhtPort?: number;
  maxMessageBytes?: number;
  metrics?: GossipTransportMetrics;
  log: Logger;
}

export interface GossipRuntime {
  transport: HyperswarmTransport;
  /** Closes every link, the swarm and the DHT node (writing down the DHT nodes known, for the next start). */
  stop(): Promise<void>;
}

/**
 * The agent's gossip transport on its own persistent DHT node: bound on the advertise address
 * at AGENT_DHT_PORT, bootstrapped from the managers' DHT nodes (host of each --manager address at
 * MANAGER_DHT_PORT) and from the nodes it knew when it last stopped, so that it finds its peers
 * when every manager is down. Rejects when the port is taken.
 */
export async function startGossipRuntime(options: GossipRuntimeOptions): Promise<GossipRuntime> {
  const bootstrap = managerDhtNodes(options.managers, options.managerDhtPort ?? MANAGER_DHT_PORT);
  const transport = await startHyperswarmTransport({
    stateDir: options.stateDir,
    clusterId: options.clusterId,
    dht: { host: options.advertiseAddr, port: options.dhtPort ?? AGENT_DHT_PORT, bootstrap },
    maxMessageBytes: options.maxMessageBytes,
    metrics: options.metrics,
    log: options.log,
  });
  const address = transport.dhtAddress();
  options.log.info({ address: `${address.host}:${address.port}/udp`, bootstrap: bootstrap.map(({ host, port }) => `${host}:${port}`), publicKey: transport.publicKey }, 'gossip DHT node listening');
  return { transport, stop: () => transport.close() };
}
