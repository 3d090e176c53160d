import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PRIVATE_DIR_MODE, repairPrivateTreeWarning } from '../proto/runtime/private-files';
import {
  CertificateRenewer,
  ensureNodeCertificate,
  MutableCertificateProvider,
  providerChannelCredentials,
  renewThroughManagers,
} from '../proto/runtime/tls';
import { serveMetrics, type MetricsServer } from '../proto/runtime/metrics-http';
import { SANDBOX_FILES_LEDGER, sandboxFiles, SandboxFileWriter } from './sandbox-files';
import { ConvergeLoop, type ConvergeTarget } from './converge-loop';
import { kernelRunner } from './crash-after-batches';
import { IprouteKernel } from './kernel';
import { AgentMetrics } from './metrics/agent-metrics';
import { Reconciler } from './reconcile';
import { ManagerSession } from './session/manager-session';

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
  logger: Logger;
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
  const reconciler = new Reconciler(
    { underlayDevice: options.underlayDevice, localAddress: options.advertiseAddr, gatewaySubnet: options.gatewaySubnet },
    new IprouteKernel(kernelRunner(process.env, options.logger)),
  );
  const metrics = options.metricsListen ? new AgentMetrics() : undefined;
  const metricsServer: MetricsServer | undefined =
    metrics && options.metricsListen ? await serveMetrics(options.metricsListen, metrics.registry, options.logger) : undefined;
  const session: ManagerSession = new ManagerSession({
    managers: options.managers,
    credentials: providerChannelCredentials(provider),
    nodeName: options.nodeName,
    advertiseAddr: options.advertiseAddr,
    logger: options.logger,
    onView: (view) => loop.offer(view),
  });
  // The sandboxes' /etc files follow each kernel pass that succeeded.
  const files = new SandboxFileWriter(join(options.stateDir, SANDBOX_FILES_LEDGER));
  const target: ConvergeTarget = {
    async reconcile(view) {
      const result = await reconciler.reconcile(view);
      const written = files.sync(sandboxFiles(view));
      if (written.length > 0) options.logger.info({ files: written }, 'sandbox files written');
      return result;
    },
  };
  const loop = new ConvergeLoop(
    target,
    options.logger,
    (view) => session.reportProgrammed(view),
    options.resyncIntervalMs,
    metrics,
  );
  const renewer = new CertificateRenewer(tlsDir, provider, renewThroughManagers(() => session.currentManager(), provider), options.logger);
  loop.start();
  session.start();
  renewer.start(material);
  return {
    metricsAddress: metricsServer?.address,
    async stop() {
      renewer.stop();
      session.stop();
      await loop.stop();
      await metricsServer?.close();
    },
  };
}
