/** The link kind probe against the real kernel (needs root), held to what the kernel does when a user asks it for each kind. */
import { processRunner } from '../kernel';
import { deleteNetnsIfPresent, netnsNames, run } from '../reconcile/kernel-test-support';
import { PROBED_LINK_KINDS } from './parse';
import { probeLinkKinds, probeNetnsName } from './probe';

const PROBE_NETNS = probeNetnsName(process.pid);
const CHECK_NETNS = `trprobe-check-${process.pid}`;

afterAll(async () => {
  await deleteNetnsIfPresent(PROBE_NETNS);
  await deleteNetnsIfPresent(CHECK_NETNS);
});

/** Whether the kernel makes a link of this kind when asked the way a user would, on a veth of a namespace of the test's. */
async function kernelMakes(kind: string): Promise<boolean> {
  const extra = kind === 'vlan' ? ['id', '7'] : [];
  try {
    await run(['ip', '-n', CHECK_NETNS, 'link', 'add', 'link', 'parent0', 'name', `c${kind}`, 'type', kind, ...extra]);
  } catch {
    return false;
  }
  const shown = JSON.parse(await run(['ip', '-n', CHECK_NETNS, '-j', '-d', 'link', 'show', 'dev', `c${kind}`])) as { linkinfo?: { info_kind?: string } }[];
  return shown[0]?.linkinfo?.info_kind === kind;
}

describe('link kind probe', () => {
  it('reports exactly the kinds the kernel creates, and leaves no namespace behind', async () => {
    const kinds = await probeLinkKinds(processRunner, PROBE_NETNS);
    await run(['ip', 'netns', 'add', CHECK_NETNS]);
    await run(['ip', '-n', CHECK_NETNS, 'link', 'add', 'parent0', 'type', 'veth', 'peer', 'name', 'parent1']);
    for (const kind of PROBED_LINK_KINDS) expect([kind, kinds.includes(kind)]).toEqual([kind, await kernelMakes(kind)]);
    expect(await netnsNames()).not.toContain(PROBE_NETNS);
  });
});
