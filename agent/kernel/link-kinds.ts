import { CommandFailed, type CommandRunner } from './command-runner';

/** Link kinds the LAN drivers need beyond veth, bridge and VXLAN: Node.link_kinds. */
export const LAN_LINK_KINDS = ['macvlan', 'ipvlan', 'vlan'] as const;

/**
 * Which of LAN_LINK_KINDS this kernel can create. Each is probed by asking for one without the
 * lower device it needs: a kernel that has the kind (or loads its module on the request) refuses
 * the missing device and creates nothing; one that lacks it answers "Unknown device type".
 */
export async function detectLinkKinds(runner: CommandRunner): Promise<string[]> {
  const probes = LAN_LINK_KINDS.map(async (kind) => {
    const argv = ['ip', 'link', 'add', 'trellis-probe', 'type', kind, ...(kind === 'vlan' ? ['id', '1'] : [])];
    try {
      await runner.run(argv);
      // Created after all (nothing here should be): not left behind.
      await runner.run(['ip', 'link', 'del', 'trellis-probe']);
      return kind;
    } catch (error) {
      if (!(error instanceof CommandFailed)) throw error;
      return /Unknown device type/i.test(error.stderr) ? undefined : kind;
    }
  });
  return (await Promise.all(probes)).filter((kind): kind is (typeof LAN_LINK_KINDS)[number] => kind !== undefined);
}
