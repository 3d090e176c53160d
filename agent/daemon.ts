import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AGENT_DHT_PORT } from '../proto/runtime/dht/ports';
import { PRIVATE_DIR_MODE, repairPrivateTreeWarning } from '../proto/runtime/private-files';
import {
  CertificateRenewer,
  ensureNodeCertificate,
  identityFromPem,
  MutableCertificateProvider,
  providerChannelCredentials,
  renewThroughManagers,
} from '../proto/runtime/tls';
import type { ReservedPort } from '../proto/gen/trellis/v1/types';
import { parseListen, serveMetrics, type MetricsServer } from '../proto/runtime/metrics-http';
import { SANDBOX_FILES_LEDGER, sandboxFiles, SandboxFileWriter } from './sandbox-files';
import { ConvergeLoop } from './converge-loop';
import { reconcilerTarget } from './converge-target';
import { kernelRunner } from './crash-after-batches';
import { AgentDns } from './dns/agent-dns';
import { AgentGossip } from './gossip/agent-gossip';
import { nextEpoch } from './gossip/epoch-file';
import { startGossipRuntime } from './gossip/gossip-runtime';
import { IprouteKernel } from './kernel';
import { BalancingStep } from './lb/balancing-step';
import { chooseBalancer, type LbEngineChoice } from './lb/engine-choice';
import { BALANCING_LEDGER, ServiceBalancing } from './lb/service-balancing';
import { LoopbackProxy, namespacePlace } from './loopback-proxy';
import { MeshStep } from './mesh/mesh-step';
import { readNodeFacts } from './node-facts/node-facts';
import { AgentMetrics } from './metrics/agent-metrics';
import { GossipPromMetrics } from './metrics/gossip-metrics';
import { DEFAULT_GATEWAY_SUBNET, Reconciler } from './reconcile';
import { ManagerSession } from './session/manager-session';
import { loadView, movedTo, saveView, type SavedView } from './session/view-file';
import { ownerTag } from './owner-tag';

export interface AgentOptions {
  managers: string[];
  /** Where the node keeps its certificate (under tls/). */
  stateDir: string;
  /** The worker (or manager) join token, needed until the node has a certificate. */
  joinToken?: string;
  nodeName: string;
  advertiseAddr: string;
  underlayDevice: string;
  /** Where sandboxes' egress addresses come from (the trellis_gw bridge); DEFAULT_GATEWAY_SUBNET when not given. */
  gatewaySubnet?: string;
  resyncIntervalMs: number;
  /** HOST:PORT to serve Prometheus metrics on (GET /metrics); absent or '' serves none. */
  metricsListen?: string;
  /** Ports of this node no sandbox may publish, besides the metrics port (reserved by itself): --reserved-ports. */
  reservedPorts?: ReservedPort[];
  /** --lb: the engine of services' VIP balancing; auto when not given. */
  lb?: LbEngineChoice;
  /**
   * --gossip: learn other gossiping nodes' endpoints from them (agent/gossip/) rather than from
   * the managers' view, with this agent's DHT node on `port` (udp; 0 = any). Absent: it does not gossip.
   */
  gossip?: { port: number };
  logger: Logger;
  /** Called once, when the first view arrives: the session with a manager is up. */
  onSessionUp?: () => void;
}

export interface RunningAgent {
  /** The metrics address actually bound, when metricsListen was given. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/**
 * The agent touches the kernel only after the manager's first view arrives, so a
 * restart with the managers unreachable leaves the data plane exactly as it was.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  mkdirSync(options.stateDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  repairPrivateTreeWarning(options.stateDir, (repaired, message) => options.logger.warn(repaired, message));
  const tlsDir = join(options.stateDir, 'tls');
  const material = await ensureNodeCertificate(tlsDir, options.managers, options.joinToken, options.logger);
  const provider = new MutableCertificateProvider({ ...material, certChainPem: material.certPem });
  const metrics = options.metricsListen ? new AgentMetrics() : undefined;
  const metricsServer: MetricsServer | undefined =
    metrics && options.metricsListen ? await serveMetrics(options.metricsListen, metrics.registry, options.logger) : undefined;
  const gossipMetrics = options.gossip && metrics ? new GossipPromMetrics(metrics.registry) : undefined;
  // The epoch is on disk before the transport can announce anything of it.
  const epoch = options.gossip ? nextEpoch(options.stateDir, Date.now()) : 0;
  const runtime = options.gossip
    ? await startGossipRuntime({
        stateDir: options.stateDir,
        clusterId: identityFromPem(material.certPem).clusterId,
        managers: options.managers,
        advertiseAddr: options.advertiseAddr,
        dhtPort: options.gossip.port,
        metrics: gossipMetrics,
        log: options.logger,
      })
    : undefined;
  const transport = runtime?.transport;
  // The bound ports, so a port of 0 (chosen by the kernel) is reserved as what it became.
  const reservedPorts: ReservedPort[] = metricsServer ? [{ protocol: 'tcp', port: parseListen(metricsServer.address).port, reason: "the agent's metrics port" }] : [];
  // AGENT_DHT_PORT is reserved on every node already.
  const gossipPort = transport?.dhtAddress().port;
  if (gossipPort !== undefined && gossipPort !== AGENT_DHT_PORT) reservedPorts.push({ protocol: 'udp', port: gossipPort, reason: "the agent's gossip DHT port (--gossip-port)" });
  // Each port once: the managers refuse a list that names one twice.
  for (const port of options.reservedPorts ?? []) {
    if (!reservedPorts.some((taken) => taken.port === port.port && taken.protocol === port.protocol)) reservedPorts.push(port);
  }
  const gossip = transport
    ? new AgentGossip({
        transport,
        epoch,
        askManager: (networkId, ownerNodeId) => session.requestMemberEntries(networkId, ownerNodeId),
        offer: (view) => loop.offer(view),
        readinessChanged: (ready) => {
          balancing.becameReady(ready);
          dns.readinessChanged(ready);
        },
        metrics: gossipMetrics,
        logger: options.logger,
      })
    : undefined;
  /** A gossiping agent's ready set adds the remote endpoints their owners announce ready. */
  const readyEndpoints = (): ReadonlySet<string> => gossip?.readyEndpoints() ?? session.readyEndpoints();
  const gatewaySubnet = options.gatewaySubnet ?? DEFAULT_GATEWAY_SUBNET;
  const runner = kernelRunner(process.env, options.logger);
  // Read once: the managers check networks and publish-all against it (a new interface needs a
  // restart to be offered); macvlan, ipvlan and VLAN parents are made only where this kernel can.
  const nodeFacts = await readNodeFacts(runner, options.logger);
  const linkKinds = nodeFacts.linkKinds;
  const reconciler = new Reconciler(
    { underlayDevice: options.underlayDevice, localAddress: options.advertiseAddr, owner: ownerTag(options.stateDir, options.advertiseAddr), gatewaySubnet, reservedPorts, linkKinds },
    new IprouteKernel(runner),
  );
  const balancer = await chooseBalancer(options.lb ?? 'auto', runner);
  options.logger.info({ engine: balancer.engine, asked: options.lb ?? 'auto' }, 'service load balancing engine');
  const balancing = new BalancingStep(
    new ServiceBalancing(balancer, join(options.stateDir, BALANCING_LEDGER)),
    readyEndpoints,
    options.logger,
    metrics,
  );
  // Services' published ports (routing mesh, mode=host) on this host, after the pass has made the sandboxes' gw0.
  const mesh = new MeshStep(runner, { underlayDevice: options.underlayDevice, localAddress: options.advertiseAddr }, readyEndpoints, options.logger, metrics);
  // The sandboxes' resolver on 127.0.0.11: its sockets live in their namespaces, so they go when the agent does.
  const dns = AgentDns.start(options.logger, metrics?.registry);
  // Published ports on the host's 127.0.0.1, which their DNAT rules leave alone (no route_localnet).
  const loopbackProxy = new LoopbackProxy(namespacePlace(), options.logger, metrics);
  /** Per service, the revision whose rules every sandbox here holds, from the last pass: what the agent reports. */
  let programmedServices: Record<string, number> = {};
  let sessionUp = options.onSessionUp;
  const session: ManagerSession = new ManagerSession({
    managers: options.managers,
    credentials: providerChannelCredentials(provider),
    nodeName: options.nodeName,
    advertiseAddr: options.advertiseAddr,
    gatewaySubnet,
    reservedPorts,
    nodeFacts,
    logger: options.logger,
    gossipPublicKey: transport?.publicKey,
    onView: (view) => {
      if (gossip) gossip.viewArrived(view);
      else loop.offer(view);
      sessionUp?.();
      sessionUp = undefined;
    },
    onTrust: (caBundlePem) => renewer.trust(caBundlePem),
    // Readiness is not part of the view: a change of it alone still needs a pass (a backend whose node went down leaves the rules).
    onReadiness: (ready) => {
      if (gossip) return gossip.readinessArrived(ready);
      balancing.becameReady(ready);
      dns.readinessChanged(ready);
      loop.offerAgain();
    },
    onMemberDigests: (digests) => gossip?.digestsArrived(digests),
    onMemberEntries: (entries) => gossip?.entriesArrived(entries),
  });
  // The sandboxes' /etc files and their services' balancing follow each kernel pass that succeeded.
  const files = new SandboxFileWriter(join(options.stateDir, SANDBOX_FILES_LEDGER));
  const target = reconcilerTarget(reconciler, async (view, result) => {
    const written = files.sync(sandboxFiles(view), result.pass);
    if (written.length > 0) options.logger.info({ files: written }, 'sandbox files written');
    // Before balancing, whose failure in one namespace must not leave every sandbox without names.
    dns.passed(view, readyEndpoints());
    programmedServices = await balancing.sync(view, result.pass, result.unprogrammedEndpointIds);
    await mesh.sync(view, reconciler.egressAddresses(), result.pass);
    loopbackProxy.sync(reconciler.publishedPorts());
    return result;
  });
  const loop = new ConvergeLoop(
    target,
    options.logger,
    (view, outcome) => {
      gossip?.converged(view, outcome.unprogrammedEndpointIds ?? []);
      keepView(gossip?.toSave(view));
      session.reportProgrammed(view, outcome.unprogrammedEndpointIds, programmedServices, gossip?.programmedMembers(view));
    },
    options.resyncIntervalMs,
    metrics,
    gossip ? (a, b) => gossip.sameDesired(a, b) : undefined,
  );
  const renewer: CertificateRenewer = new CertificateRenewer(tlsDir, provider, renewThroughManagers(() => session.currentManager(), provider), options.logger);
  /** A gossiping agent keeps the managers' view it last programmed, to start from when every manager is down. */
  const keepView = (saved: SavedView | undefined): void => {
    if (!saved) return;
    try {
      saveView(options.stateDir, saved);
    } catch (error) {
      options.logger.warn({ err: error }, 'gossip: cannot keep the view programmed in the state directory; a restart while every manager is down waits for one');
    }
  };
  const saved = gossip && loadView(options.stateDir, (problem) => options.logger.warn(problem));
  if (gossip && saved) {
    // Its own endpoints move with a new --advertise-addr at once: its peers learn that through gossip, managers or not.
    const view = movedTo(saved.view, options.advertiseAddr);
    options.logger.info({ revision: view.revision }, 'gossip: starting from the view programmed last, until a manager sends one');
    session.adopt(view, saved.readyEndpointIds);
    gossip.readinessArrived(new Set(saved.readyEndpointIds));
    gossip.viewArrived(view);
  }
  renewer.start(material);
  loop.start();
  session.start();
  return {
    metricsAddress: metricsServer?.address,
    async stop() {
      renewer.stop();
      session.stop();
      await loop.stop();
      await gossip?.stop();
      dns.close();
      loopbackProxy.close();
      await metricsServer?.close();
    },
  };
}
