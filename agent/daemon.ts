import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  CertificateRenewer,
  ensureNodeCertificate,
  MutableCertificateProvider,
  providerChannelCredentials,
  renewThroughManagers,
} from '../proto/runtime/tls';
import { ConvergeLoop } from './converge-loop';
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
  resyncIntervalMs: number;
  logger: Logger;
}

export interface RunningAgent {
  stop(): Promise<void>;
}

/**
 * The agent touches the kernel only after the manager's first view arrives, so a
 * restart with the managers unreachable leaves the data plane exactly as it was.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const tlsDir = join(options.stateDir, 'tls');
  const material = await ensureNodeCertificate(tlsDir, options.managers, options.joinToken, options.logger);
  const provider = new MutableCertificateProvider({ ...material, certChainPem: material.certPem });
  const reconciler = new Reconciler({ underlayDevice: options.underlayDevice, localAddress: options.advertiseAddr });
  const session: ManagerSession = new ManagerSession({
    managers: options.managers,
    credentials: providerChannelCredentials(provider),
    nodeName: options.nodeName,
    advertiseAddr: options.advertiseAddr,
    logger: options.logger,
    onView: (view) => loop.offer(view),
  });
  const loop = new ConvergeLoop(
    reconciler,
    options.logger,
    (view) => session.reportProgrammed(view),
    options.resyncIntervalMs,
  );
  const renewer = new CertificateRenewer(tlsDir, provider, renewThroughManagers(() => session.currentManager(), provider), options.logger);
  loop.start();
  session.start();
  renewer.start(material);
  return {
    async stop() {
      renewer.stop();
      session.stop();
      await loop.stop();
    },
  };
}
