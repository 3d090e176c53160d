/**
 * Published ports of services on 4 agents, called from outside the cluster's sandboxes (the lab
 * host m1, a manager, at its underlay address, like a client on the LAN): an ingress port answers
 * on nodes with nothing of their own on the service's network (a3, a4: no backend, no sandbox) and
 * the backend sees the client's own address (direct server return over the mesh tunnel, no SNAT);
 * unpublished, it stops answering there, and published again it answers again; a host-mode port
 * answers only where a backend runs.
 */
import type { ChildProcess } from 'node:child_process';
import { CreatedObjects } from './support/created-objects';
import { eventually, labDown, labHost, labUp, trellis, trellisOk, type LabState } from './support/lab-driver';
import { sandboxNamespace } from './support/overlay';
import { spreadOf, startNamedServer, type Spread } from './support/vip-traffic';

const SUBNET = '10.243.0.0/24';
const INGRESS = 8480;
const HOST_MODE = 8481;
const TARGET = 80;
const BOUND_MS = 30_000;

jest.setTimeout(300_000);

describe('routing mesh and host-mode ports (1 manager, 4 agents)', () => {
  const created = new CreatedObjects();
  const servers: ChildProcess[] = [];
  let state: LabState;
  const address = (host: string): string => labHost(state, host).address;
  const fromOutside = (host: string, port: number, count: number): Spread => spreadOf(labHost(state, 'm1').namespace, address(host), port, count);

  beforeAll(async () => {
    state = labUp(1, 4);
    created.network('mesh-net', ['--subnet', SUBNET]);
    trellisOk('m1', [
      'service', 'create', 'front', '--network', 'mesh-net',
      '--publish', `published=${INGRESS},target=${TARGET}`,
      '--publish', `published=${HOST_MODE},target=${TARGET},mode=host`,
    ]);
    for (const [sandbox, node] of [['f1', 'a1'], ['f2', 'a2']] as const) {
      created.sandbox(sandbox, node);
      trellisOk('m1', ['network', 'connect', 'mesh-net', sandbox, '--service', 'front']);
      servers.push(await startNamedServer(sandboxNamespace(sandbox), sandbox, TARGET));
    }
  });

  afterAll(() => {
    for (const server of servers) server.kill();
    try {
      for (const sandbox of ['f1', 'f2']) trellis('m1', ['network', 'disconnect', 'mesh-net', sandbox, '--force']);
      trellis('m1', ['service', 'rm', 'front']);
      created.removeWhatRemains();
    } finally {
      labDown();
    }
  });

  it.each(['a3', 'a4'])('answers an ingress port on %s, which has nothing on the network, from backends on other nodes that see the client’s address', async (node) => {
    await eventually(() => Object.keys(fromOutside(node, INGRESS, 20).counts).length === 2, `both backends answer through ${node}`, BOUND_MS);
    const calls = fromOutside(node, INGRESS, 40);
    expect(calls.failures).toBe(0);
    expect(Object.keys(calls.counts).sort()).toEqual(['f1', 'f2']);
    expect(calls.sources).toEqual([address('m1')]);
  });

  it('answers an ingress port on a node with a backend from that backend, with the client’s address', () => {
    for (const [node, sandbox] of [['a1', 'f1'], ['a2', 'f2']] as const) {
      const calls = fromOutside(node, INGRESS, 5);
      expect(calls).toEqual({ counts: { [sandbox]: 5 }, sources: [address('m1')], failures: 0 });
    }
  });

  it('answers a host-mode port only on the nodes where a backend runs', async () => {
    await eventually(() => fromOutside('a1', HOST_MODE, 1).failures === 0, 'a1 answers its host-mode port', BOUND_MS);
    expect(fromOutside('a1', HOST_MODE, 5)).toEqual({ counts: { f1: 5 }, sources: [address('m1')], failures: 0 });
    expect(fromOutside('a2', HOST_MODE, 5)).toEqual({ counts: { f2: 5 }, sources: [address('m1')], failures: 0 });
    for (const node of ['a3', 'a4']) expect(fromOutside(node, HOST_MODE, 3)).toEqual({ counts: {}, sources: [], failures: 3 });
  });
  it('stops answering an ingress port on a node without a backend once it is unpublished, and answers again once it is published again', async () => {
    trellisOk('m1', ['service', 'update', 'front', '--publish-rm', String(INGRESS)]);
    await eventually(() => fromOutside('a3', INGRESS, 2).failures === 2, 'a3 no longer answers the port', BOUND_MS);
    expect(fromOutside('a3', INGRESS, 3)).toEqual({ counts: {}, sources: [], failures: 3 });
    // The host-mode port of the same service is not the mesh's: it still answers where a backend runs.
    expect(fromOutside('a1', HOST_MODE, 2)).toEqual({ counts: { f1: 2 }, sources: [address('m1')], failures: 0 });

    trellisOk('m1', ['service', 'update', 'front', '--publish-add', `published=${INGRESS},target=${TARGET}`]);
    await eventually(() => Object.keys(fromOutside('a3', INGRESS, 20).counts).length === 2, 'both backends answer through a3 again', BOUND_MS);
    const calls = fromOutside('a3', INGRESS, 20);
    expect([calls.failures, calls.sources]).toEqual([0, [address('m1')]]);
  });
});
