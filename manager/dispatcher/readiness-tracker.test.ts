import type { HostProgramming } from '../api/readiness';
import { ReadinessTracker, type ReadinessChange, type ReadinessChanges, type ReadinessSource, type TrackedEndpoint } from './readiness-tracker';

/*
 * Two networks: blue on nodes a and b, red on nodes b and c. Every node live and programmed at
 * revision 10 unless a test says otherwise; every endpoint created at revision 5.
 */
function cluster() {
  const endpoints: Record<string, TrackedEndpoint[]> = {
    blue: [
      { id: 'blue-a', nodeId: 'a', createdRevision: 5 },
      { id: 'blue-b', nodeId: 'b', createdRevision: 5 },
    ],
    red: [
      { id: 'red-b', nodeId: 'b', createdRevision: 5 },
      { id: 'red-c', nodeId: 'c', createdRevision: 5 },
    ],
  };
  const programming = new Map<string, HostProgramming>(
    ['a', 'b', 'c'].map((node) => [node, { live: true, networks: { blue: 10, red: 10 }, unprogrammed: new Set<string>() }]),
  );
  const computed: string[] = [];
  const source: ReadinessSource = {
    networkEndpointNodes: (networkId) => {
      computed.push(networkId);
      return endpoints[networkId] ?? [];
    },
    programmingOf: (nodeId) => programming.get(nodeId),
  };
  const told: ReadinessChanges[] = [];
  const toEveryNode: ReadinessChange[] = [];
  const tracker = new ReadinessTracker(source, (changes, everyNode) => {
    told.push(changes);
    toEveryNode.push(everyNode);
  });
  return { endpoints, programming, computed, told, toEveryNode, tracker };
}

const afterThisTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReadinessTracker', () => {
  it('tells only the hosts of a network what changed on it, once for all the changes of one turn', async () => {
    const { programming, computed, told, tracker } = cluster();
    expect(tracker.readyOn(['blue', 'red']).sort()).toEqual(['blue-a', 'blue-b', 'red-b', 'red-c']);
    computed.length = 0;

    // Node a goes down, and in the same turn a report of c touches red without changing anything.
    programming.set('a', { live: false, networks: { blue: 10 }, unprogrammed: new Set() });
    tracker.touch(['blue']);
    tracker.touch(['red']);
    tracker.touch(['blue']);
    await afterThisTurn();
    expect(computed.sort()).toEqual(['blue', 'red']);
    expect(told).toEqual([new Map([['a', { ready: [], unready: ['blue-a'] }], ['b', { ready: [], unready: ['blue-a'] }]])]);
  });

  it('does not compute a network no node was given, nor tell anyone about it', async () => {
    const { computed, told, tracker } = cluster();
    tracker.touch(['blue']);
    await afterThisTurn();
    expect(computed).toEqual([]);
    expect(told).toEqual([]);
  });

  it('gives the current set when asked, telling pending changes first', () => {
    const { programming, told, tracker } = cluster();
    tracker.readyOn(['red']);
    programming.set('c', { live: true, networks: { red: 10 }, unprogrammed: new Set(['red-b']) });
    tracker.touch(['red']);
    expect(tracker.readyOn(['red'])).toEqual(['red-c']);
    expect(told).toEqual([new Map([['b', { ready: [], unready: ['red-b'] }], ['c', { ready: [], unready: ['red-b'] }]])]);
  });

  it('computes a network again for a report only when the report crosses the creation of one of its endpoints', async () => {
    const { endpoints, computed, tracker } = cluster();
    tracker.readyOn(['blue']);
    computed.length = 0;
    // Every endpoint of blue was created at 5: from 10 to 12 changes nothing, from 4 to 10 may.
    tracker.reported('blue', 10, 12);
    await afterThisTurn();
    expect(computed).toEqual([]);
    tracker.reported('blue', 4, 10);
    await afterThisTurn();
    expect(computed).toEqual(['blue']);
    // A newer endpoint moves the bar once blue is computed again.
    endpoints.blue?.push({ id: 'blue-new', nodeId: 'a', createdRevision: 11 });
    tracker.touch(['blue']);
    await afterThisTurn();
    computed.length = 0;
    tracker.reported('blue', 10, 12);
    await afterThisTurn();
    expect(computed).toEqual(['blue']);
  });

  it('forgets a network whose last endpoint left', async () => {
    const { endpoints, computed, tracker } = cluster();
    tracker.readyOn(['blue']);
    endpoints.blue = [];
    tracker.touch(['blue']);
    await afterThisTurn();
    computed.length = 0;
    tracker.touch(['blue']);
    await afterThisTurn();
    expect(computed).toEqual([]);
  });
  it('tells every node the changes of ingress backends, computed from the hosts of their network only', async () => {
    const { endpoints, programming, told, toEveryNode, tracker } = cluster();
    const red = endpoints.red ?? [];
    endpoints.red = red.map((endpoint) => ({ ...endpoint, meshBackend: endpoint.id === 'red-c' }));
    // Node a, which does not host red, holds red-c for the routing mesh; nothing of a counts for its readiness.
    expect(tracker.readyAmong([{ id: 'red-c', networkId: 'red' }, { id: 'red-b', networkId: 'red' }])).toEqual(['red-c', 'red-b']);
    programming.set('a', { live: false, networks: {}, unprogrammed: new Set(['red-c']) });
    tracker.touch(['red']);
    await afterThisTurn();
    expect(told).toEqual([]);
    programming.set('c', { live: false, networks: { red: 10 }, unprogrammed: new Set() });
    tracker.touch(['red']);
    await afterThisTurn();
    expect(told).toEqual([new Map([['b', { ready: [], unready: ['red-c'] }], ['c', { ready: [], unready: ['red-c'] }]])]);
    expect(toEveryNode).toEqual([{ ready: [], unready: ['red-c'] }]);
  });
});
