/**
 * The reconciler over MemoryKernel, for random views, sequences of views and drift: every pass
 * leaves the kernel where the next pass finds nothing to write. MemoryKernel is held to the real
 * kernel by memory-kernel.kernel.test.ts.
 */
import fc from 'fast-check';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { FIREWALL_TABLE, NO_ADOPTED_NETNS, networkNetnsPrefix } from '../kernel';
import { MemoryKernel } from '../kernel/memory-kernel';
import { Reconciler } from './reconciler';
import { EVERY_KIND, FIRST_PID, MAX_SANDBOXES, MEMORY_PLACES, arbitraryNodeView, arbitraryViewSequence, foreignNetns } from './test-arbitraries';
import { applyDrift, arbitraryDrift } from './test-drift';
import { sampleView, sandbox } from './test-fixtures';

const OWNER = 'node-a';

/** A node with its underlay, the namespaces a runtime named and the processes the views may adopt. */
function node(): { kernel: MemoryKernel; reconciler: Reconciler } {
  const kernel = new MemoryKernel();
  kernel.addUnderlay('uplink', 1500, '198.18.0.1/24');
  for (let index = 0; index < MAX_SANDBOXES; index += 1) {
    kernel.addForeignNamespace(foreignNetns(index));
    if (kernel.startProcess() !== FIRST_PID + index) throw new Error('MemoryKernel hands out PIDs from FIRST_PID');
  }
  return { kernel, reconciler: new Reconciler({ underlayDevice: 'uplink', owner: OWNER }, kernel) };
}

/** Converges in one pass: the pass applies without a failure, and the pass after writes nothing. */
async function convergesInOnePass(reconciler: Reconciler, view: NodeView): Promise<void> {
  await reconciler.reconcile(view);
  const again = await reconciler.reconcile(view);
  expect(again.actions).toEqual([]);
}

function observeAll(kernel: MemoryKernel) {
  const foreign = Array.from({ length: MAX_SANDBOXES }, (_, index) => foreignNetns(index));
  return kernel.observe({ networkNetnsPrefix: networkNetnsPrefix(OWNER), firewallTable: FIREWALL_TABLE, adopted: { ...NO_ADOPTED_NETNS, foreign } });
}

/** A node converged on `view` by a full pass. */
async function convergedOn(view: NodeView | undefined): Promise<{ kernel: MemoryKernel; reconciler: Reconciler }> {
  const converged = node();
  if (view !== undefined) await convergesInOnePass(converged.reconciler, view);
  return converged;
}

describe('scoped passes over MemoryKernel', () => {
  test('after each change of a sequence, written by a scoped pass, a full pass writes nothing', async () => {
    let scoped = 0;
    await fc.assert(
      fc.asyncProperty(arbitraryViewSequence(MEMORY_PLACES, 4, EVERY_KIND), async ([first, ...rest]) => {
        const { reconciler } = await convergedOn(first);
        for (const view of rest) {
          const change = await reconciler.reconcileChange(view);
          if (change.pass === 'scoped') scoped += 1;
          expect((await reconciler.reconcile(view)).actions).toEqual([]);
        }
      }),
      { numRuns: 400 },
    );
    // The property says nothing if every change fell back to a full pass.
    expect(scoped).toBeGreaterThan(200);
  });

  test('drift and changes: a scoped pass, then a full pass, then nothing left to write', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryViewSequence(MEMORY_PLACES, 4, EVERY_KIND), fc.array(arbitraryDrift, { maxLength: 3 }), async ([first, ...rest], drifts) => {
        const { kernel, reconciler } = await convergedOn(first);
        for (const drift of drifts) applyDrift(kernel, await observeAll(kernel), drift);
        for (const view of rest) {
          await reconciler.reconcileChange(view);
          await convergesInOnePass(reconciler, view);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a full pass surveyed before changes and planned after them leaves what a full pass over the newest view would', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryViewSequence(MEMORY_PLACES, 4, EVERY_KIND), fc.nat(), fc.array(arbitraryDrift, { minLength: 1, maxLength: 3 }), async ([first, ...rest], split, drifts) => {
        const { kernel, reconciler } = await convergedOn(first);
        if (first === undefined) return;
        // Drift gives the plan something to write.
        for (const drift of drifts) applyDrift(kernel, await observeAll(kernel), drift);
        // Changes written by scoped passes while the survey is open, some before and some after the plan.
        const survey = await reconciler.survey(first);
        const beforePlan = rest.slice(0, split % (rest.length + 1));
        const afterPlan = rest.slice(beforePlan.length);
        for (const view of beforePlan) await reconciler.reconcileChange(view);
        const newest = beforePlan[beforePlan.length - 1] ?? first;
        const planned = await reconciler.planSurveyed(newest, survey);
        let overtaken = false;
        for (const view of afterPlan) overtaken = (await reconciler.reconcileChange(view)).writes > 0 || overtaken;
        const last = rest[rest.length - 1] ?? first;
        // A plan a pass wrote after must be declined: applied, it could undo that pass's writes.
        const applied = await reconciler.applyPlanned(planned);
        if (overtaken) expect(applied).toBeUndefined();
        else await convergesInOnePass(reconciler, last);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the reconciler over MemoryKernel', () => {
  test('any view converges in one pass from an empty node', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryNodeView(MEMORY_PLACES, EVERY_KIND), async (view) => {
        const { reconciler } = node();
        await convergesInOnePass(reconciler, view);
      }),
      { numRuns: 300 },
    );
  });

  test('each view of a sequence converges in one pass from the one before', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryViewSequence(MEMORY_PLACES, 4, EVERY_KIND), async (views) => {
        const { reconciler } = node();
        for (const view of views) await convergesInOnePass(reconciler, view);
      }),
      { numRuns: 300 },
    );
  });

  test('drift after convergence is repaired in one pass', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryNodeView(MEMORY_PLACES, EVERY_KIND), fc.array(arbitraryDrift, { minLength: 1, maxLength: 4 }), async (view, drifts) => {
        const { kernel, reconciler } = node();
        await convergesInOnePass(reconciler, view);
        for (const drift of drifts) applyDrift(kernel, await observeAll(kernel), drift);
        await convergesInOnePass(reconciler, view);
      }),
      { numRuns: 400 },
    );
  });

  test('a pass killed anywhere in its writes is healed by the next pass, in one', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryViewSequence(MEMORY_PLACES, 4, EVERY_KIND), fc.nat(), async (views, cut) => {
        const { kernel, reconciler } = node();
        const [first, ...rest] = views;
        if (first !== undefined) await convergesInOnePass(reconciler, first);
        for (const view of rest) {
          // What a kill -9 leaves: the writes up to some point applied, none after.
          const killed = new Reconciler({ underlayDevice: 'uplink', owner: OWNER }, {
            observe: (query) => kernel.observe(query),
            apply: async (actions) => {
              await kernel.apply(actions.slice(0, cut % (actions.length + 1)));
              throw new Error('killed');
            },
          });
          await expect(killed.reconcile(view)).rejects.toThrow('killed');
          await convergesInOnePass(reconciler, view);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('removeAll leaves nothing of the agent behind, and the runtime\'s namespaces as they were', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryViewSequence(MEMORY_PLACES, 4, EVERY_KIND), async (views) => {
        const { kernel, reconciler } = node();
        const untouched = (await observeAll(kernel)).sandboxes;
        for (const view of views) await reconciler.reconcile(view);
        await reconciler.removeAll();
        expect((await reconciler.removeAll()).actions).toEqual([]);
        const after = await observeAll(kernel);
        expect(kernel.namespaceNames().filter((name) => name.startsWith('tr'))).toEqual([]);
        expect(after.hostLinks.map((link) => link.name)).toEqual(['lo', 'uplink-peer', 'uplink']);
        expect(after.firewall).toBeUndefined();
        expect(after.sandboxes).toEqual(untouched);
      }),
      { numRuns: 200 },
    );
  });
});

/*
 * A sandbox name the kernel still has as an attached process's namespace, wanted now by a created
 * sandbox (the store hands a removed sandbox's netns name to a new one whose id shares its first
 * 10 characters, and an agent that was away sees both changes as one view), was once taken for
 * the created sandbox's own namespace: its interfaces went into the process's namespace.
 */
test('a created sandbox never moves into a process namespace left under its name', async () => {
  const { kernel, reconciler } = node();
  const network = { id: 'n0', name: 'net0', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 100, subnet: '10.231.0.0/24', gateway: '10.231.0.1', mtu: 0, internal: false };
  const endpoint = {
    id: 'ep0xxxxxxxxxxxx', networkId: 'n0', sandboxId: 's0', nodeId: 'A', vtep: '198.18.0.1', ip: '10.231.0.2', prefixLength: 24,
    mac: '02:42:00:00:00:02', interfaceName: 'eth0', hostname: '', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
  };
  const viewWith = (netnsPath: string): NodeView => ({
    revision: 1, nodeId: 'A', nodeName: 'a', advertiseAddr: '198.18.0.1', networks: [network],
    sandboxes: [{ networkMode: '', sharesNetns: false, id: 's0', name: 's0', netnsName: 'trsb-s0', netnsPath }], endpoints: [endpoint], members: [], overlaySubnets: [network.subnet], services: [],
  });
  await convergesInOnePass(reconciler, viewWith(`/proc/${FIRST_PID}/ns/net`));

  await convergesInOnePass(reconciler, viewWith(''));

  expect(kernel.processNamespace(FIRST_PID)?.links.map((link) => link.name)).toEqual(['lo']);
});

test('names each created sandbox’s gateway-bridge address after a pass, and none before one', async () => {
  const { reconciler } = node();
  expect(reconciler.egressAddresses()).toEqual(new Map());
  await reconciler.reconcile(sampleView());
  expect(reconciler.egressAddresses()).toEqual(new Map([[sandbox.netnsName, '172.29.0.2']]));
});
