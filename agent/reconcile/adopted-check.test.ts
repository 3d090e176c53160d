import { ObservedKernel } from '../kernel';
import { checkAdoptedNamespaces } from './adopted-check';
import { NOTHING_OBSERVED, link, programmed, view, want } from './plan-fixtures';
import { sandbox } from './test-fixtures';

const AGENT_ID = '4:4026531840';
const CNI_ID = '4:4026532100';
const PROCESS_ID = '4:4026532200';

const byName = want(view({ sandboxes: [{ ...sandbox, netnsPath: '/run/netns/cni-7f3a' }] }));
const byProcess = want(view({ sandboxes: [{ ...sandbox, netnsPath: '/proc/4242/ns/net' }] }));

function identified(observed: ObservedKernel, netnsIds: Record<string, string>): ObservedKernel {
  return { ...observed, netnsIds, agentNetnsIds: [AGENT_ID] };
}

const cniPresent = identified(programmed(byName), { '/run/netns/cni-7f3a': CNI_ID });
const processAttached = identified(programmed(byProcess), { '/proc/4242/ns/net': PROCESS_ID, '/run/netns/trsb-web': PROCESS_ID });

describe('checkAdoptedNamespaces', () => {
  test('lets sandboxes of our own, and adopted namespaces that are there, through unchanged', () => {
    const own = want();
    expect(checkAdoptedNamespaces(own, NOTHING_OBSERVED)).toEqual({ kernel: own, skipped: [] });
    expect(checkAdoptedNamespaces(byName, cniPresent)).toEqual({ kernel: byName, skipped: [] });
    expect(checkAdoptedNamespaces(byProcess, processAttached)).toEqual({ kernel: byProcess, skipped: [] });
  });

  test.each([
    ['is absent', identified(NOTHING_OBSERVED, {}), '/run/netns/cni-7f3a: does not exist (yet)'],
    ['cannot be entered', identified({ ...NOTHING_OBSERVED, brokenSandboxes: ['cni-7f3a'] }, {}), '/run/netns/cni-7f3a: exists but cannot be entered'],
    ["is the agent's", identified(programmed(byName), { '/run/netns/cni-7f3a': AGENT_ID }), "is the agent's own namespace"],
  ])('skips a named namespace that %s, with its endpoints, and keeps the rest', (_what, observed, reason) => {
    const { kernel, skipped } = checkAdoptedNamespaces(byName, observed);

    expect(skipped).toEqual([expect.stringContaining(reason)]);
    expect(kernel.sandboxes).toEqual([]);
    expect(kernel.endpoints).toEqual([]);
    expect(kernel.networks).toEqual(byName.networks);
  });

  test("adopts nothing when the agent's own namespace could not be identified", () => {
    const { kernel, skipped } = checkAdoptedNamespaces(byName, { ...cniPresent, agentNetnsIds: [] });

    expect(skipped).toEqual(["sandbox namespace /run/netns/cni-7f3a: the agent's own namespace could not be identified"]);
    expect(kernel.sandboxes).toEqual([]);
  });

  test("skips an endpoint whose interface name is held by the namespace maker's own interface, and its route", () => {
    const squatted = identified({ ...NOTHING_OBSERVED, sandboxes: [{ netns: 'cni-7f3a', links: [link('lo'), link('eth0', { kind: 'veth', ifindex: 3, peerIfindex: 77 })], defaultRoute: undefined }] }, { '/run/netns/cni-7f3a': CNI_ID });

    const { kernel, skipped } = checkAdoptedNamespaces(byName, squatted);

    expect(skipped).toEqual(['endpoint trve-e1aaaaaaaa: eth0 in adopted namespace cni-7f3a is an interface Trellis does not own']);
    expect(kernel.endpoints).toEqual([]);
    expect(kernel.sandboxes).toEqual([{ netns: 'cni-7f3a', origin: { kind: 'named' }, defaultRoute: undefined }]);
  });

  test('attaches a live process that is not attached yet', () => {
    const notYet = identified(NOTHING_OBSERVED, { '/proc/4242/ns/net': PROCESS_ID });
    expect(checkAdoptedNamespaces(byProcess, notYet)).toEqual({ kernel: byProcess, skipped: [] });
  });

  test.each([
    ['a process that is gone and was never attached', identified(NOTHING_OBSERVED, {}), 'process 4242 does not exist'],
    ["a process in the agent's namespace", identified(NOTHING_OBSERVED, { '/proc/4242/ns/net': AGENT_ID }), "process 4242 is in the agent's own namespace, which is never adopted"],
  ])('skips %s, letting the cleanup unmount any name of ours', (_what, observed, reason) => {
    const { kernel, skipped } = checkAdoptedNamespaces(byProcess, observed);

    expect(skipped).toEqual([`sandbox namespace /proc/4242/ns/net (attached as trsb-web): ${reason}`]);
    expect(kernel.sandboxes).toEqual([]);
    expect(kernel.endpoints).toEqual([]);
  });

  test.each([
    ['is gone', { '/run/netns/trsb-web': PROCESS_ID }],
    ['now has another namespace (its PID reused)', { '/proc/4242/ns/net': '4:4026532999', '/run/netns/trsb-web': PROCESS_ID }],
  ])('withdraws the endpoints of an attached process that %s but keeps the name, so the PID is never adopted again', (_what, ids) => {
    const { kernel, skipped } = checkAdoptedNamespaces(byProcess, identified(programmed(byProcess), ids));

    expect(skipped).toEqual([expect.stringContaining('process 4242 no longer holds the namespace attached as trsb-web')]);
    expect(kernel.sandboxes).toEqual([{ netns: 'trsb-web', origin: { kind: 'attached', pid: 4242 }, defaultRoute: undefined }]);
    expect(kernel.endpoints).toEqual([]);
  });

  test('adopts one namespace once, even when two paths lead to it', () => {
    const both = want(view({
      sandboxes: [
        { ...sandbox, netnsPath: '/run/netns/cni-7f3a' },
        { networkMode: '', sharesNetns: false, id: 's2', name: 'job', netnsName: 'trsb-job', netnsPath: '/proc/4242/ns/net' },
      ],
    }));
    const observed = identified(programmed(byName), { '/run/netns/cni-7f3a': CNI_ID, '/proc/4242/ns/net': CNI_ID });

    const { kernel, skipped } = checkAdoptedNamespaces(both, observed);

    expect(kernel.sandboxes.map((s) => s.netns)).toEqual(['cni-7f3a']);
    expect(skipped).toEqual(['sandbox namespace /proc/4242/ns/net (attached as trsb-job): is the namespace already adopted as /run/netns/cni-7f3a']);
  });
});
