import type { Logger } from 'pino';
import type { CommandRunner } from '../kernel/command-runner';
import type { HostInterface } from '../../proto/gen/trellis/v1/types';
import { parseHostInterfaces, parsePortRange } from './parse';
import { probeLinkKinds } from './probe';

/** What the agent tells the managers about its node at registration (RegisterRequest's fields). */
export interface NodeFacts {
  interfaces: HostInterface[];
  linkKinds: string[];
  /** 0 and 0: not known (the managers then use 32768-60999). */
  ephemeralPortFirst: number;
  ephemeralPortLast: number;
}

/** What an agent that could not read its node reports: what older agents report. */
export const UNKNOWN_NODE_FACTS: NodeFacts = { interfaces: [], linkKinds: [], ephemeralPortFirst: 0, ephemeralPortLast: 0 };

/** Reads the host namespace (where `runner` runs) once; a part that cannot be read is reported as unknown, with a warning. */
export async function readNodeFacts(runner: CommandRunner, logger: Logger): Promise<NodeFacts> {
  const unknownOnFailure = <T>(read: Promise<T>): Promise<T | undefined> =>
    read.catch((error: unknown) => {
      logger.warn({ err: error }, 'node facts: cannot read part of the node; it is reported as unknown');
      return undefined;
    });
  const [interfaces, linkKinds, range] = await Promise.all([
    unknownOnFailure(runner.run(['ip', '-j', '-d', 'addr', 'show']).then(parseHostInterfaces)),
    unknownOnFailure(probeLinkKinds(runner)),
    unknownOnFailure(runner.run(['sysctl', '-n', 'net.ipv4.ip_local_port_range']).then(parsePortRange)),
  ]);
  return {
    interfaces: interfaces ?? [],
    linkKinds: linkKinds ?? [],
    ephemeralPortFirst: range?.first ?? 0,
    ephemeralPortLast: range?.last ?? 0,
  };
}
