import type { Logger } from 'pino';
import { ConvergeLoop } from './converge-loop';
import { Reconciler } from './reconcile';
import { ManagerSession } from './session/manager-session';

export interface AgentOptions {
  managers: string[];
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
export function startAgent(options: AgentOptions): RunningAgent {
  const reconciler = new Reconciler({ underlayDevice: options.underlayDevice, localAddress: options.advertiseAddr });
  const session: ManagerSession = new ManagerSession({
    managers: options.managers,
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
  loop.start();
  session.start();
  return {
    async stop() {
      session.stop();
      await loop.stop();
    },
  };
}
