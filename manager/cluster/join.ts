import type { Logger } from 'pino';
import type { JoinRequest, JoinResponse } from '../../proto/gen/trellis/v1/raft';
import type { PeerClients } from './peer-clients';

const joinDeadlineMs = 60_000;
const retryMs = 500;

/** Asks a member to add this manager as a learner, retrying while the cluster elects or catches up. */
export async function joinCluster(peers: PeerClients, via: string, request: JoinRequest, logger: Logger): Promise<JoinResponse> {
  const deadline = Date.now() + joinDeadlineMs;
  for (;;) {
    try {
      return await peers.join(via, request);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`could not join the cluster through ${via}: ${(error as Error).message}`);
      logger.warn({ err: error, via }, 'join refused or unreachable; retrying');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
}
