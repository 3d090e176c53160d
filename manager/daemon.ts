import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { dirname, join, relative } from 'node:path';
import type { Logger } from 'pino';
import { ControlService } from '../proto/gen/trellis/v1/control';
import { DispatcherService } from '../proto/gen/trellis/v1/dispatcher';
import { RaftService } from '../proto/gen/trellis/v1/raft';
import { protoFiles, protoRoot } from '../proto/runtime/proto-files';
import { controlService } from './api/control-service';
import { managerDirectory, nodeDirectory } from './cluster/directories';
import { joinCluster } from './cluster/join';
import { memberId } from './cluster/member-id';
import { PeerClients } from './cluster/peer-clients';
import { RaftCluster } from './cluster/raft-cluster';
import { clusterHandlers } from './cluster/raft-handlers';
import { bootstrapNewCluster, forceNewCluster, fromSnapshot, initialStore, isEmpty } from './cluster/recover';
import { Dispatcher } from './dispatcher/dispatcher-service';
import { serveMetrics, type MetricsServer } from './metrics/http';
import { ManagerMetrics } from './metrics/manager-metrics';
import { createRaftNode } from './raft/core';
import { DiskStorage } from './raft/storage';
import { raftService, Transport } from './raft/transport';
import type { AddressPoolRecord } from './store';

export interface ManagerOptions {
  /** HOST:PORT to serve gRPC on; other managers and agents reach this manager there. */
  listen: string;
  dataDir: string;
  /** A member of an existing cluster to join through (ignored once this data dir holds state). */
  join?: string;
  /** Make this manager's committed state a new one-member cluster. */
  forceNewCluster?: boolean;
  logger: Logger;
  /** Raft tick (default 50 ms); elections time out after 10–20 ticks without a leader. */
  tickMs?: number;
  snapshotEvery?: number;
  /** Called when this manager leaves the cluster or cannot go on; the process should exit. */
  onExit?: () => void;
  /** Where networks without a subnet get one; used only when this manager bootstraps a new cluster (default 10.0.0.0/8 in /24s). */
  defaultAddressPools?: AddressPoolRecord[];
  /** HOST:PORT to serve Prometheus metrics on (GET /metrics); absent or '' serves none. */
  metricsListen?: string;
}

export interface RunningManager {
  /** The address actually bound (useful with port 0). */
  address: string;
  id: string;
  cluster: RaftCluster;
  /** The metrics address actually bound, when metricsListen was given. */
  metricsAddress?: string;
  close(): Promise<void>;
}

// 50 ms ticks: heartbeats every 50 ms, elections after 0.5–1 s of silence, so writes resume within about a second of losing the leader.
const defaults = { tickMs: 50, snapshotEvery: 10_000, requestTimeoutMs: 5_000 };

/**
 * A manager: the Raft member, the replicated store, and the Control,
 * Dispatcher and Raft services on one port.
 */
export async function startManager(options: ManagerOptions): Promise<RunningManager> {
  const logger = options.logger;
  // Checked before anything is bound or written, so bad pools stop the start cleanly.
  const initial = initialStore(options.defaultAddressPools);
  const id = await memberId(options.dataDir);
  const storage = await DiskStorage.open(join(options.dataDir, 'raft'), { onWarning: (message) => logger.warn(message) });

  const server = new Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
  );
  const address = options.listen.replace(/:\d+$/, `:${port}`);
  const peers = new PeerClients();

  let bootstrapped = false;
  if (options.forceNewCluster) {
    if (isEmpty(storage)) throw new Error(`--force-new-cluster: ${options.dataDir} holds no state to recover`);
    await forceNewCluster(storage, id, address);
    logger.warn({ id }, 'forced a new one-member cluster from this manager\'s committed state');
  } else if (isEmpty(storage) && options.join) {
    logger.info({ via: options.join }, 'joining the cluster as a learner');
  } else if (isEmpty(storage)) {
    await bootstrapNewCluster(storage, id, address, initial);
    bootstrapped = true;
    logger.info({ id, defaultAddressPools: initial.defaultAddressPools() }, 'started a new cluster');
  }
  if (options.defaultAddressPools && !bootstrapped) {
    logger.warn('default address pools are chosen when a cluster is created; ignoring them for the cluster this manager joins or already holds');
  }
  const recovered = fromSnapshot(storage);
  const metrics = options.metricsListen ? new ManagerMetrics() : undefined;
  // Bound before anything else starts, so a taken port leaves only the gRPC port and the log to release.
  let metricsServer: MetricsServer | undefined;
  if (metrics && options.metricsListen) {
    try {
      metricsServer = await serveMetrics(options.metricsListen, metrics.registry, logger);
    } catch (error) {
      server.forceShutdown();
      await storage.close();
      throw error;
    }
  }

  let cluster: RaftCluster | undefined;
  const transport = new Transport({
    self: id,
    logger,
    onMessage: (message) => cluster?.step(message),
    onUnreachable: (peer) => cluster?.reportUnreachable(peer),
    onSnapshotStatus: (peer, ok) => cluster?.reportSnapshot(peer, ok),
  });
  cluster = new RaftCluster({
    id,
    node: createRaftNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      applied: recovered.applied,
      maxSizePerMessage: 1024 * 1024,
      maxInflightMessages: 256,
      preVote: true,
      checkQuorum: true,
      random: Math.random,
    }),
    storage,
    transport,
    forwarder: peers,
    recovered,
    logger,
    tickMs: options.tickMs ?? defaults.tickMs,
    snapshotEvery: options.snapshotEvery ?? defaults.snapshotEvery,
    requestTimeoutMs: defaults.requestTimeoutMs,
    onRemoved: () => options.onExit?.(),
    observer: metrics?.clusterObserver,
  });

  const dispatcher = new Dispatcher(cluster, logger, metrics?.dispatcherObserver);
  metrics?.bind({ cluster, dispatcher });
  server.addService(ControlService, controlService(cluster, nodeDirectory(cluster, dispatcher, peers), managerDirectory(cluster, id, peers)));
  server.addService(DispatcherService, dispatcher.service());
  server.addService(RaftService, raftService(transport, clusterHandlers(cluster, peers)));
  const health = new HealthImplementation({ '': 'SERVING', 'trellis.v1.Control': 'SERVING', 'trellis.v1.Dispatcher': 'SERVING' });
  health.addToServer(server);
  const healthProtoRoot = join(dirname(healthProtoPath), '..', '..');
  const reflected = loadSync([...protoFiles, relative(healthProtoRoot, healthProtoPath)], { includeDirs: [protoRoot(), healthProtoRoot] });
  new ReflectionService(reflected).addToServer(server);

  cluster.start();
  if (isEmpty(storage) && options.join) {
    for (const member of (await joinCluster(peers, options.join, { memberId: id, address }, logger)).members) {
      if (member.id !== id) transport.setPeer(member.id, member.address);
    }
  }
  logger.info({ address, id }, 'manager serving');

  const running = cluster;
  return {
    address,
    id,
    cluster: running,
    metricsAddress: metricsServer?.address,
    async close() {
      await metricsServer?.close();
      await running.stop();
      dispatcher.close();
      transport.close();
      peers.close();
      // Agents' session streams never end by themselves: cut them rather than wait.
      server.forceShutdown();
      await storage.close();
    },
  };
}
