import type { Logger } from 'pino';
import { MANAGER_DHT_PORT } from '../../proto/runtime/dht/ports';
import { startHyperswarmTransport, type HyperswarmTransport } from './hyperswarm-transport';
import type { GossipTransportMetrics } from './transport-metrics';

export interface GossipTransportStart {
  stateDir: string;
  clusterId: string;
  /** The managers' HOST:PORT (their gRPC addresses): each runs a DHT bootstrap node on MANAGER_DHT_PORT of its host. */
  managers: readonly string[];
  /** The agent's DHT node binds this address (its advertise address) and port (udp; 0 = any). */
  advertiseAddr: string;
  port: number;
  metrics?: GossipTransportMetrics;
  logger: Logger;
}

/** The agent's hyperswarm transport, bootstrapped from the managers' DHT nodes (and those it remembers). */
export function startGossipTransport(start: GossipTransportStart): Promise<HyperswarmTransport> {
  const bootstrap = start.managers.map((address) => ({ host: address.slice(0, address.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1'), port: MANAGER_DHT_PORT }));
  return startHyperswarmTransport({
    stateDir: start.stateDir,
    clusterId: start.clusterId,
    dht: { host: start.advertiseAddr, port: start.port, bootstrap },
    metrics: start.metrics,
    log: start.logger,
  });
}
