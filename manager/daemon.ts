import { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ControlService } from '../proto/gen/trellis/v1/control';
import { CertificateAuthorityService } from '../proto/gen/trellis/v1/ca';
import { RaftService, type JoinResponse } from '../proto/gen/trellis/v1/raft';
import { maxMessageBytes } from '../proto/runtime/message-limits';
import { PRIVATE_DIR_MODE, repairPrivateTreeWarning } from '../proto/runtime/private-files';
import { reflectionDefinition, reflectionFiles } from '../proto/runtime/proto-files';
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
import { serveLocked } from './api/locked-service';
import { managerDirectory, nodeDirectory } from './cluster/directories';
import { joinCluster } from './cluster/join';
import { memberId } from './cluster/member-id';
import { PeerClients } from './cluster/peer-clients';
import { RaftCluster } from './cluster/raft-cluster';
import { clusterHandlers } from './cluster/raft-handlers';
import { bootstrapNewCluster, forceNewCluster, fromSnapshot, isEmpty } from './cluster/recover';
import { Dispatcher, type DispatcherOptions } from './dispatcher/dispatcher-service';
import { finishDrainsWhenDue } from './cluster/drain-finisher';
import { managerRevocationCheck } from './ca/revoked';
import { finishRotationsWhenDone, trustBundlePem } from './ca/root-rotation';
import { serveMetrics, type MetricsServer } from '../proto/runtime/metrics-http';
import { ManagerMetrics } from './metrics/manager-metrics';
import { createRaftNode } from './raft/core';
import { DiskStorage } from './raft/storage';
import { AutolockKeeper } from './secrets/autolock-keeper';
import { ClusterKey, holdsPlaintextSecrets } from './secrets/cluster-key';
import { KEY_FILE, readKeyFile, writeKeyFile } from './secrets/key-file';
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
  /** Tuning of the agents' sessions (tests shorten the gossip correction grace). */
  dispatcher?: DispatcherOptions;
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
  await mkdir(options.dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  repairPrivateTreeWarning(options.dataDir, (repaired, message) => logger.warn(repaired, message));
  const raftDir = join(options.dataDir, 'raft');
  const material = await managerCertificate(options, !existsSync(raftDir));
  const id = await memberId(options.dataDir, identityFromPem(material.certPem).nodeId);
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
  // NOT_SERVING until Raft runs: a locked manager stays so until it is unlocked.
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'trellis.v1.Control': 'NOT_SERVING', 'trellis.v1.Dispatcher': 'NOT_SERVING' });
  health.addToServer(server);
  // Reflection also while locked: it shows the schema only, and lets grpcurl find UnlockManager.
  new ReflectionService(reflectionDefinition(reflectionFiles())).addToServer(server);

  const keys = await dataKeyOf(options.dataDir, server, logger);
  const clusterKey = new ClusterKey(keys?.dataKey);
  const storage = await DiskStorage.open(raftDir, { onWarning: (message) => logger.warn(message) });
  const peers = new PeerClients(peerCredentials);
  const refuse = async (message: string): Promise<never> => {
    server.forceShutdown();
    await storage.close();
    throw new Error(message);
  };

  if (options.forceNewCluster) {
    if (isEmpty(storage)) return refuse(`--force-new-cluster: ${options.dataDir} holds no state to recover`);
    await forceNewCluster(storage, id, address);
    logger.warn({ id }, 'forced a new one-member cluster from this manager\'s committed state');
  } else if (isEmpty(storage) && options.join) {
    logger.info({ via: options.join }, 'joining the cluster as a learner');
  } else if (isEmpty(storage)) {
    const initial = await bootstrapStore(options.dataDir);
    if (!initial) return refuse(`${options.dataDir} has a certificate but no cluster to start; run \`trellis cluster init\` on an empty --data-dir`);
    await bootstrapNewCluster(storage, id, address, initial);
    logger.info({ id, defaultAddressPools: initial.defaultAddressPools() }, 'started a new cluster');
  }
  await removeBootstrap(options.dataDir);
  const recovered = fromSnapshot(storage);
  if (holdsPlaintextSecrets(recovered.store.security())) {
    return refuse(
      `${options.dataDir} holds a cluster created before its secrets were encrypted at rest: its CA key is in plaintext in the Raft log and snapshots (and in any backup of them), so it must be taken as exposed; create a new cluster (\`trellis cluster init\`) and join the nodes to it`,
    );
  }
  if (!clusterKey.known && !(isEmpty(storage) && options.join)) {
    return refuse(`${join(options.dataDir, KEY_FILE)} is missing: this manager cannot open the cluster's secrets; remove ${options.dataDir} and join the cluster again`);
  }
  const metrics = options.metricsListen ? new ManagerMetrics() : undefined;
  // Bound before anything else starts, so a taken port leaves only the gRPC port and the log to release.
  let metricsServer: MetricsServer | undefined;
  if (metrics && options.metricsListen) {
    try {
      metricsServer = await serveMetrics(options.metricsListen, metrics.registry, logger);
    } catch (error) {
      return refuse(error instanceof Error ? error.message : String(error));
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

  const dispatcher = new Dispatcher(cluster, logger, metrics?.dispatcherObserver, options.dispatcher);
  metrics?.bind({ cluster, dispatcher });
  server.addService(ControlService, controlService(cluster, nodeDirectory(cluster, dispatcher, peers), managerDirectory(cluster, id, peers, metricsServer?.address), clusterKey));
  server.addService(dispatcher.serviceDefinition(), dispatcher.service());
  server.addService(RaftService, raftService(transport, clusterHandlers(cluster, peers, clusterKey)));
  server.addService(CertificateAuthorityService, certificateAuthorityService(cluster, clusterKey, options.joinsPerMinute));
  for (const service of ['', 'trellis.v1.Control', 'trellis.v1.Dispatcher']) health.setStatus(service, 'SERVING');

  const lastIndexAtStart = storage.lastIndex();
  cluster.start();
  let wrappedUnder = keys?.unlockKey;
  if (isEmpty(storage) && options.join) {
    const joined = await joinCluster(peers, options.join, { memberId: id, address }, logger);
    for (const member of joined.members) {
      if (member.id !== id) transport.setPeer(member.id, member.address);
    }
    wrappedUnder = await keepJoinedDataKey(options.dataDir, clusterKey, joined);
  }
  const running = cluster;
  const keeper = new AutolockKeeper(options.dataDir, clusterKey, wrappedUnder, logger);
  const stopFollowing = keeper.followCaughtUp(running, lastIndexAtStart);
  logger.info({ address, id }, 'manager serving');
  const renewer = new CertificateRenewer(join(options.dataDir, MANAGER_TLS_DIR), provider, renewWithOwnCa(running, clusterKey, material, id), logger);
  renewer.start(material);
  // A root rotation reaches this manager through the log: it trusts both roots and renews onto the new one.
  const followTrust = () => {
    const root = running.store.rootCa();
    if (root) renewer.trust(trustBundlePem(root));
  };
  const stopFollowingTrust = running.onChange(followTrust);
  followTrust();
  const stopFinishing = finishRotationsWhenDone(running, logger);
  const stopDrains = finishDrainsWhenDue(running, logger);

  return {
    address,
    id,
    cluster: running,
    metricsAddress: metricsServer?.address,
    async close() {
      stopFollowingTrust();
      stopFinishing();
      stopDrains();
      renewer.stop();
      stopFollowing();
      await keeper.settled();
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
 * The data key from this manager's key file: at once when it is not locked; under autolock only
 * once `trellis cluster unlock` gives the key, meanwhile serving nothing but that call (and
 * health). Undefined for a manager that has no file yet (joining: it gets the key in the Join reply).
 */
async function dataKeyOf(dataDir: string, server: Server, logger: Logger): Promise<{ dataKey: Buffer; unlockKey?: string } | undefined> {
  const keyFile = await readKeyFile(dataDir);
  if (!keyFile) return undefined;
  if (!keyFile.locked) return { dataKey: keyFile.open() };
  return serveLocked(server, keyFile, logger);
}

/** A joined manager's copy of the data key, wrapped like every other manager's; returns the unlock key it is wrapped under, if any. */
async function keepJoinedDataKey(dataDir: string, clusterKey: ClusterKey, joined: JoinResponse): Promise<string | undefined> {
  if (clusterKey.known) return undefined;
  if (joined.dataKey.length === 0) throw new Error('the cluster joined through sent no data key: it runs a version without encrypted secrets');
  const dataKey = Buffer.from(joined.dataKey);
  const unlockKey = joined.unlockKey || undefined;
  await writeKeyFile(dataDir, dataKey, unlockKey === undefined ? { kind: 'none' } : { kind: 'unlock-key', unlockKey });
  clusterKey.set(dataKey);
  return unlockKey;
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
    // Never the tokens themselves: logs are kept, shipped and read by more people than the tokens should be.
    options.logger.info(
      { clusterId: created.clusterId, adminDir },
      'created a new cluster; print its join tokens with `trellis cluster join-token worker|manager`',
    );
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
function renewWithOwnCa(cluster: RaftCluster, clusterKey: ClusterKey, current: TlsMaterial, memberId: string): RenewCertificate {
  const identity = identityFromPem(current.certPem);
  return async (csrPem) => {
    const security = cluster.store.security();
    if (!security) throw new Error('this cluster has no CA to renew with');
    const issued = await signAndRecord(cluster, clusterKey.openSecrets(security), csrPem, identity, 'renewal by the manager itself', memberId);
    if (issued instanceof Error) throw issued;
    return issued;
  };
}
