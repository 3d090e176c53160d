import type { SandboxView } from '../../proto/gen/trellis/v1/dispatcher';
import { placeSandbox, placeSandboxes } from './sandbox-placement';
import { sandbox } from './test-fixtures';

const shared = { ...sandbox, sharesNetns: true };
const follower: SandboxView = { ...shared, id: 's2', name: 'sidecar' };

describe('placing sandboxes', () => {
  test('a host-mode sandbox is the host namespace under its own name, and adopts no path', () => {
    expect(placeSandbox({ ...sandbox, networkMode: 'host' })).toEqual({ netns: 'trsb-web', origin: { kind: 'host' } });
    expect(placeSandbox({ ...sandbox, networkMode: 'host', netnsPath: '/run/netns/cni-1' })).toEqual({
      problem: 'netns path "/run/netns/cni-1" cannot be adopted by a sandbox in network mode "host"',
    });
  });

  test('sharers of a namespace are one namespace with every sandbox in it, sorted, whatever the view order', () => {
    for (const order of [[shared, follower], [follower, shared]]) {
      const plan = placeSandboxes(order);
      expect(plan.problems).toEqual([]);
      expect([...plan.namespaces.values()]).toEqual([
        { netns: 'trsb-web', origin: { kind: 'created' }, netnsName: 'trsb-web', mode: '', sandboxIds: ['s1', 's2'] },
      ]);
      expect(plan.bySandbox.get('s2')).toBe(plan.bySandbox.get('s1'));
    }
  });

  test("a plain sharer takes the mode of the namespace it shares: the host's, or an adopted one", () => {
    const onHost = placeSandboxes([follower, { ...shared, networkMode: 'host' }]);
    expect([...onHost.namespaces.values()]).toMatchObject([{ origin: { kind: 'host' }, mode: 'host', sandboxIds: ['s1', 's2'] }]);
    const adopted = placeSandboxes([follower, { ...shared, netnsPath: '/run/netns/cni-1' }]);
    expect([...adopted.namespaces.values()]).toMatchObject([{ netns: 'cni-1', origin: { kind: 'named' }, sandboxIds: ['s1', 's2'] }]);
    const bothAdopt = placeSandboxes([{ ...follower, netnsPath: '/run/netns/cni-1' }, { ...shared, netnsPath: '/run/netns/cni-1' }]);
    expect([...bothAdopt.namespaces.values()]).toMatchObject([{ netns: 'cni-1', origin: { kind: 'named' }, sandboxIds: ['s1', 's2'] }]);
  });

  test('a second claim on a namespace without sharing it, or disagreeing on its mode, is refused', () => {
    expect(placeSandboxes([sandbox, { ...sandbox, id: 's2' }]).problems).toEqual([
      { sandboxId: 's2', problem: 'namespace trsb-web already belongs to another sandbox' },
    ]);
    expect(placeSandboxes([{ ...shared, networkMode: 'none' }, { ...follower, networkMode: 'host' }]).problems).toEqual([
      { sandboxId: 's2', problem: 'namespace trsb-web already belongs to another sandbox' },
    ]);
  });
});
