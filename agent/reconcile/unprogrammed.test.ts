import { MemoryKernel } from '../kernel/memory-kernel';
import { Reconciler } from './reconciler';
import { local, remote, sampleView, sandbox } from './test-fixtures';

/** A view whose local sandbox adopts /run/netns/cni-late, a namespace its runtime has not made yet. */
const view = (revision: number) =>
  sampleView({ revision, sandboxes: [{ ...sandbox, netnsName: 'cni-late', netnsPath: '/run/netns/cni-late' }], endpoints: [local, remote] });

describe('the endpoints a pass leaves unprogrammed', () => {
  it('names a local endpoint while its adopted namespace is missing, in full and scoped passes, and none once it is there', async () => {
    const kernel = new MemoryKernel();
    kernel.addUnderlay('uplink', 1500, '198.18.0.1/24');
    const reconciler = new Reconciler({ underlayDevice: 'uplink', owner: 'node-a' }, kernel);

    const full = await reconciler.reconcile(view(1));
    expect(full.unprogrammedEndpointIds).toEqual([local.id]);
    const scoped = await reconciler.reconcileChange(view(2));
    expect(scoped.pass).toBe('scoped');
    expect(scoped.unprogrammedEndpointIds).toEqual([local.id]);

    kernel.addForeignNamespace('cni-late');
    expect((await reconciler.reconcile(view(3))).unprogrammedEndpointIds).toEqual([]);
    expect((await reconciler.reconcileChange(view(4))).unprogrammedEndpointIds).toEqual([]);
  });
});
