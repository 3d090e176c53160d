import { CommandFailed, type CommandRunner } from '../kernel/command-runner';
import { PROBED_LINK_KINDS, type ProbedLinkKind, kindIsMissing } from './parse';

/** The arguments after `type` that make a link of each kind on a parent. */
const TYPE_ARGS: Record<ProbedLinkKind, string[]> = {
  macvlan: ['macvlan'],
  ipvlan: ['ipvlan'],
  vlan: ['vlan', 'id', '2'],
};

/** The probe's namespace: made, used and deleted by this exact name. */
export function probeNetnsName(pid: number = process.pid): string {
  return `trprobe-${pid}`;
}

/**
 * The link kinds the kernel can create, tried for real: in a throwaway namespace, a veth as the
 * parent and one link of each kind on it. A kind the kernel lacks is refused with "Unknown device
 * type"; any other refusal throws, as the probe could not tell. The namespace goes in any case.
 */
export async function probeLinkKinds(runner: CommandRunner, netns: string = probeNetnsName()): Promise<ProbedLinkKind[]> {
  await runner.run(['ip', 'netns', 'add', netns]);
  try {
    await runner.run(['ip', '-n', netns, 'link', 'add', 'trprobe0', 'type', 'veth', 'peer', 'name', 'trprobe1']);
    const present: ProbedLinkKind[] = [];
    for (const kind of PROBED_LINK_KINDS) {
      try {
        await runner.run(['ip', '-n', netns, 'link', 'add', 'link', 'trprobe0', 'name', 'trprobe2', 'type', ...TYPE_ARGS[kind]]);
        present.push(kind);
        await runner.run(['ip', '-n', netns, 'link', 'del', 'dev', 'trprobe2']);
      } catch (error) {
        if (!(error instanceof CommandFailed) || !kindIsMissing(error.stderr)) throw error;
      }
    }
    return present;
  } finally {
    await runner.run(['ip', 'netns', 'del', netns]);
  }
}
