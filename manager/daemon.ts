import { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Logger } from 'pino';
import { ControlService } from '../proto/gen/trellis/v1/control';
import { CertificateAuthorityService } from '../proto/gen/trellis/v1/ca';
import { RaftService } from '../proto/gen/trellis/v1/raft';
import { maxMessageBytes } from '../proto/runtime/message-limits';
import { protoFiles, protoRoot } from '../proto/runtime/proto-files';
import { repairedForReflection } from '../proto/runtime/reflection-descriptors';
import {
  CertificateRenewer,
  certificateChainPem,
  ensureNodeCertificate,
  identityFromPem,
  MutableCertificateProvider,
  providerChannelCredentials,
  readTlsDir,
  serverCredentials,
  type RenewCertificate,
  type TlsMaterial,
} from '../proto/runtime/tls';
import {
  authorizationInterceptor,
  bootstrapStore,
  certificateAuthorityService,
  initCluster,
  managerAccessRules,
  MANAGER_TLS_DIR,
  removeBootstrap,
  signAndRecord,
} from './ca';
import { controlService } from './api/control-service';
import { managerDirectory, nodeDirectory } from './cluster/directories';
import { joinCluster } from './cluster/join';
import { memberId } from './cluster/member-id';
import { PeerClients } from './cluster/peer-clients';
import { RaftCluster } from './cluster/raft-cluster';
import { clusterHandlers } from './cluster/raft-handlers';
import { bootstrapNewCluster, forceNewCluster, fromSnapshot, isEmpty } from './cluster/recover';
import { Dispatcher } from './dispatcher/dispatcher-service';
import { managerRevocationCheck } from './ca/revoked';
import { finishRotationsWhenDone, trustBundlePem } from './ca/root-rotation';
import { serveMetrics, type MetricsServer } from '../proto/runtime/metrics-http';
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
  /** The manager join token, for a manager that has no certificate yet (joining). */
  joinToken?: string;
  /**
   * Where a manager that creates a new cluster by itself (an empty data dir, no --join,
   * no `trellis cluster init` before) writes the CLI's admin certificate.
   */
  adminDir?: string;
  /** Make this manager's committed state a new one-member cluster. */
  forceNewCluster?: boolean;
  logger: Logger;
  /** Raft tick (default 50 ms); elections time out after 10–20 ticks without a leader. */
  tickMs?: number;
  snapshotEvery?: number;
  snapshotEveryBytes?: number;
  /** Called when this manager leaves the cluster or cannot go on; the process should exit. */
  onExit?: () => void;
  /** Where networks without a subnet get one; used only when this manager creates a new cluster itself (default 10.0.0.0/8 in /24s). */
  defaultAddressPools?: AddressPoolRecord[];
  /** HOST:PORT to serve Prometheus metrics on (GET /metrics); absent or '' serves none. */
  metricsListen?: string;
  /** Certificates one join token may get from this manager per minute (DEFAULT_JOINS_PER_MINUTE when not given). */
  joinsPerMinute?: number;
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
const defaults = { tickMs: 50, snapshotEvery: 10_000, snapshotEveryBytes: 64 * 1024 * 1024, requestTimeoutMs: 5_000 };

/**
 * A manager: the Raft member, the replicated store, and the Control,
 * Dispatcher and Raft services on one port.
 */
export async function startManager(options: ManagerOptions): Promise<RunningManager> {
  const logger = options.logger;
  const raftDir = join(options.dataDir, 'raft');
  const material = await managerCertificate(options, !existsSync(raftDir));
  const id = await memberId(options.dataDir, identityFromPem(material.certPem).nodeId);
  const storage = await DiskStorage.open(raftDir, { onWarning: (message) => logger.warn(message) });
  const provider = new MutableCertificateProvider({ ...material, certChainPem: certificateChainPem(material.certPem, material.caPem) });
  const peerCredentials = providerChannelCredentials(provider);

  let cluster: RaftCluster | undefined;
  const server = new Server({
    interceptors: [authorizationInterceptor(managerAccessRules, managerRevocationCheck(() => cluster))],
    // grpc-js sends replies of any size by default; no client would accept one over its own 4 MiB limit anyway.
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_receive_message_length': maxMessageBytes,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, serverCredentials(provider), (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
  );
  const address = options.listen.replace(/:\d+$/, `:${port}`);
  const peers = new PeerClients(peerCredentials);

  if (options.forceNewCluster) {
    if (isEmpty(storage)) throw new Error(`--force-new-cluster: ${options.dataDir} holds no state to recover`);
    await forceNewCluster(storage, id, address);
    logger.warn({ id }, 'forced a new one-member cluster from this manager\'s committed state');
  } else if (isEmpty(storage) && options.join) {
    logger.info({ via: options.join }, 'joining the cluster as a learner');
  } else if (isEmpty(storage)) {
    const initial = await bootstrapStore(options.dataDir);
    if (!initial) throw new Error(`${options.dataDir} has a certificate but no cluster to start; run \`trellis cluster init\` on an empty --data-dir`);
    await bootstrapNewCluster(storage, id, address, initial);
    logger.info({ id, defaultAddressPools: initial.defaultAddressPools() }, 'started a new cluster');
  }
  await removeBootstrap(options.dataDir);
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
  const transport = new Transport({
    self: id,
    logger,
    credentials: peerCredentials,
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
    snapshotEveryBytes: options.snapshotEveryBytes ?? defaults.snapshotEveryBytes,
    requestTimeoutMs: defaults.requestTimeoutMs,
    onRemoved: () => options.onExit?.(),
    observer: metrics?.clusterObserver,
  });

  const dispatcher = new Dispatcher(cluster, logger, metrics?.dispatcherObserver);
  metrics?.bind({ cluster, dispatcher });
  server.addService(ControlService, controlService(cluster, nodeDirectory(cluster, dispatcher, peers), managerDirectory(cluster, id, peers, metricsServer?.address)));
  server.addService(dispatcher.serviceDefinition(), dispatcher.service());
  server.addService(RaftService, raftService(transport, clusterHandlers(cluster, peers)));
  server.addService(CertificateAuthorityService, certificateAuthorityService(cluster, options.joinsPerMinute));
  const health = new HealthImplementation({ '': 'SERVING', 'trellis.v1.Control': 'SERVING', 'trellis.v1.Dispatcher': 'SERVING' });
  health.addToServer(server);
  const healthProtoRoot = join(dirname(healthProtoPath), '..', '..');
  const reflected = loadSync([...protoFiles, relative(healthProtoRoot, healthProtoPath)], { includeDirs: [protoRoot(), healthProtoRoot] });
  new ReflectionService(repairedForReflection(reflected)).addToServer(server);

  cluster.start();
  if (isEmpty(storage) && options.join) {
    for (const member of (await joinCluster(peers, options.join, { memberId: id, address }, logger)).members) {
      if (member.id !== id) transport.setPeer(member.id, member.address);
    }
  }
  const running = cluster;
  logger.info({ address, id }, 'manager serving');
  const renewer = new CertificateRenewer(join(options.dataDir, MANAGER_TLS_DIR), provider, renewWithOwnCa(running, material, id), logger);
  renewer.start(material);
  // A root rotation reaches this manager through the log: it trusts both roots and renews onto the new one.
  const followTrust = () => {
    const root = running.store.rootCa();
    if (root) renewer.trust(trustBundlePem(root));
  };
  const stopFollowingTrust = running.onChange(followTrust);
  followTrust();
  const stopFinishing = finishRotationsWhenDone(running, logger);

  return {
    address,
    id,
    cluster: running,
    metricsAddress: metricsServer?.address,
    async close() {
      stopFollowingTrust();
      stopFinishing();
      renewer.stop();
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

/**
 * This manager's certificate: from its data dir; or, joining, got with the
 * manager join token; or, creating a new cluster on an empty dir, made with the
 * cluster's CA by the same steps as `trellis cluster init`.
 */
async function managerCertificate(options: ManagerOptions, fresh: boolean): Promise<TlsMaterial> {
  const tlsDir = join(options.dataDir, MANAGER_TLS_DIR);
  if (fresh && !options.join && !options.forceNewCluster && !readTlsDir(tlsDir, 'node')) {
    const adminDir = options.adminDir;
    if (!adminDir) throw new Error('--admin-dir: a manager that creates a new cluster needs a place for the CLI\'s admin certificate');
    const created = await initCluster({ dataDir: options.dataDir, adminDir, defaultAddressPools: options.defaultAddressPools });
    options.logger.info({ clusterId: created.clusterId, adminDir, workerToken: created.tokens.worker, managerToken: created.tokens.manager }, 'created a new cluster: join tokens');
  } else if (options.defaultAddressPools) {
    options.logger.warn('default address pools are chosen when a cluster is created; ignoring them for the cluster this manager joins or already holds');
  }
  const material = await ensureNodeCertificate(tlsDir, options.join ? [options.join] : [], options.joinToken, options.logger);
  const role = identityFromPem(material.certPem).role;
  if (role !== 'trellis-manager') {
    throw new Error(`--join-token: that is a ${role} token; managers join with the one \`trellis cluster join-token manager\` prints`);
  }
  return material;
}

/** A manager holds the CA: it renews its own certificate itself, keeping its identity. */
function renewWithOwnCa(cluster: RaftCluster, current: TlsMaterial, memberId: string): RenewCertificate {
  const identity = identityFromPem(current.certPem);
  return async (csrPem) => {
    const security = cluster.store.security();
    if (!security) throw new Error('this cluster has no CA to renew with');
    const issued = await signAndRecord(cluster, security, csrPem, identity, 'renewal by the manager itself', memberId);
    if (issued instanceof Error) throw issued;
    return issued;
  };
}
