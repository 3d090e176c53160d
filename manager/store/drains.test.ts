import type { Command } from './commands';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

/*
 * A service backend that leaves drains: it stays (address, interface, sandbox) until its service's
 * drain timeout after the disconnect, then the leader's finishDrain removes it. Times come in the
 * commands, so every replica decides alike.
 */

const AT = Date.UTC(2026, 11, 6, 12, 0, 0);
const ENDS = AT + 30_000;

/** twoNodeStore plus a service "api" on "front" with default timeouts, and "app" on node-b as its backend. */
function storeWithBackend(drainTimeoutSeconds?: number): Store {
  const store = twoNodeStore();
  must(store, { type: 'createService', id: 'api-id', name: 'api', networks: ['front'], ...(drainTimeoutSeconds === undefined ? {} : { drainTimeoutSeconds }) });
  must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
  must(store, { type: 'createSandbox', id: 'app-id-0123456789', name: 'app', node: 'node-b' });
  must(store, { type: 'connect', endpointId: 'ep-app-front', network: 'front', sandbox: 'app', aliases: [], service: 'api' });
  must(store, { type: 'connect', endpointId: 'ep-app-back', network: 'back', sandbox: 'app', aliases: [] });
  return store;
}

const backendOf = (store: Store) => store.sandbox('app')?.endpoints.find((endpoint) => endpoint.networkName === 'front');

/** Applies a command that must be refused, and checks it changed nothing. */
function refused(store: Store, command: Command): { code: string; field: string; message: string } {
  const before = store.snapshot();
  const result = store.apply(command);
  if (result.ok) throw new Error(`${command.type} was accepted`);
  expect(store.snapshot()).toEqual(before);
  return result.error;
}

describe('a backend disconnected from its service network', () => {
  it('drains until the drain timeout after the disconnect, keeping its address, interface and sandbox', () => {
    const store = storeWithBackend();
    const before = backendOf(store);
    const answer = must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT });
    expect(answer).toMatchObject({ draining: true, drainEndsAt: '2026-12-06T12:00:30.000Z' });
    expect(backendOf(store)).toEqual({ ...before, draining: true, drainEndsAt: '2026-12-06T12:00:30.000Z' });
    expect(store.service('api')?.backends.map((endpoint) => [endpoint.sandboxName, endpoint.draining])).toEqual([['app', true]]);
    expect(store.drains()).toEqual([{ endpointId: 'ep-app-front', drainEndsAtMs: ENDS }]);
    expect(store.nodeView('node-b-id').endpoints.find((endpoint) => endpoint.id === 'ep-app-front')).toMatchObject({ draining: true, ip: before?.ip });
  });

  it('is disconnected again without error and without change; connecting it again is refused until the drain ends', () => {
    const store = storeWithBackend();
    must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT });
    const snapshot = store.snapshot();
    expect(must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT + 10_000 })).toMatchObject({ draining: true, drainEndsAt: '2026-12-06T12:00:30.000Z' });
    expect({ ...store.snapshot(), revision: 0 }).toEqual({ ...snapshot, revision: 0 });
    const again = refused(store, { type: 'connect', endpointId: 'ep-2', network: 'front', sandbox: 'app', aliases: [] });
    expect(again).toEqual({ code: 'FAILED_PRECONDITION', field: 'sandbox', message: expect.stringContaining('draining until 2026-12-06T12:00:30.000Z') });
    expect(again.message).toContain('trellis network disconnect --force front app');
  });

  it('keeps its network and its service from being removed, saying it drains', () => {
    const store = storeWithBackend();
    must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'web' });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'db' });
    const service = refused(store, { type: 'removeService', service: 'api' });
    expect(service).toEqual({ code: 'FAILED_PRECONDITION', field: 'service', message: expect.stringContaining('"app" on "front" (draining until 2026-12-06T12:00:30.000Z)') });
    expect(service.message).toContain('trellis network disconnect --force');
    const network = refused(store, { type: 'removeNetwork', network: 'front' });
    expect(network).toEqual({ code: 'FAILED_PRECONDITION', field: 'network', message: expect.stringContaining('"app" (draining until') });
  });

  it('is removed by finishDrain once the drain ended, and not before; its address is free again', () => {
    const store = storeWithBackend();
    const ip = must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT }).ip;
    expect(refused(store, { type: 'finishDrain', endpointIds: ['ep-app-front'], at: ENDS - 1 })).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'endpoint_ids' });
    expect(must(store, { type: 'finishDrain', endpointIds: ['ep-app-front', 'no-such-endpoint'], at: ENDS }).map((endpoint) => endpoint.id)).toEqual(['ep-app-front']);
    expect(backendOf(store)).toBeUndefined();
    expect(store.drains()).toEqual([]);
    expect(store.service('api')?.backends).toEqual([]);
    // A second leader proposing the same finish changes nothing.
    refused(store, { type: 'finishDrain', endpointIds: ['ep-app-front'], at: ENDS });
    must(store, { type: 'createSandbox', id: 'late-id-0123456789', name: 'late', node: 'node-a' });
    expect(must(store, { type: 'connect', endpointId: 'ep-late', network: 'front', sandbox: 'late', ip, aliases: [] }).ip).toBe(ip);
  });

  it('goes at once when forced, draining or not', () => {
    const store = storeWithBackend();
    must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT });
    expect(must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT, force: true })).toMatchObject({ draining: true });
    expect(backendOf(store)).toBeUndefined();
    must(store, { type: 'connect', endpointId: 'ep-again', network: 'front', sandbox: 'app', aliases: [], service: 'api' });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'app', at: AT, force: true });
    expect(backendOf(store)).toBeUndefined();
    expect(store.drains()).toEqual([]);
  });

  it.each([
    ['its service has a drain timeout of 0', storeWithBackend(0), AT],
    ['the command is from before drain (no time in it)', storeWithBackend(), undefined],
  ])('goes at once when %s', (_, store, at) => {
    must(store, { type: 'disconnect', network: 'front', sandbox: 'app', ...(at === undefined ? {} : { at }) });
    expect(backendOf(store)).toBeUndefined();
  });

  it('an endpoint of no service goes at once', () => {
    const store = storeWithBackend();
    must(store, { type: 'disconnect', network: 'back', sandbox: 'app', at: AT });
    expect(store.sandbox('app')?.endpoints.map((endpoint) => endpoint.networkName)).toEqual(['front']);
  });
});

describe('a sandbox removed while it is a backend', () => {
  it('is marked removing, loses its other endpoints at once, and goes with the end of the last drain', () => {
    const store = storeWithBackend();
    must(store, { type: 'removeSandbox', sandbox: 'app', at: AT });
    expect(store.sandbox('app')).toMatchObject({ removing: true, endpoints: [expect.objectContaining({ networkName: 'front', draining: true })] });
    // Removing it again changes nothing; it takes no new network.
    const snapshot = store.snapshot();
    must(store, { type: 'removeSandbox', sandbox: 'app', at: AT + 5_000 });
    expect({ ...store.snapshot(), revision: 0 }).toEqual({ ...snapshot, revision: 0 });
    expect(refused(store, { type: 'connect', endpointId: 'ep-x', network: 'back', sandbox: 'app', aliases: [] })).toEqual({
      code: 'FAILED_PRECONDITION', field: 'sandbox', message: expect.stringContaining('"app" is being removed'),
    });
    expect(refused(store, { type: 'removeNode', node: 'node-b' }).message).toContain('"app"');
    must(store, { type: 'finishDrain', endpointIds: ['ep-app-front'], at: ENDS });
    expect(store.sandbox('app')).toBeUndefined();
  });

  it('goes when its last draining endpoint is disconnected with force', () => {
    const store = storeWithBackend();
    must(store, { type: 'removeSandbox', sandbox: 'app', at: AT });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'app', force: true });
    expect(store.sandbox('app')).toBeUndefined();
  });

  it('goes at once when none of its endpoints drains', () => {
    const store = storeWithBackend(0);
    must(store, { type: 'removeSandbox', sandbox: 'app', at: AT });
    expect(store.sandbox('app')).toBeUndefined();
  });
});

describe('drains on every replica', () => {
  it('decide alike from the commands alone, also on a replica restored from a snapshot mid-drain', () => {
    const commands: Command[] = [
      { type: 'removeSandbox', sandbox: 'app', at: AT },
      { type: 'updateService', service: 'api', drainTimeoutSeconds: 5 },
      { type: 'disconnect', network: 'front', sandbox: 'web', at: AT },
      { type: 'finishDrain', endpointIds: ['ep-app-front'], at: ENDS },
    ];
    const leader = storeWithBackend();
    must(leader, { type: 'connect', endpointId: 'ep-web-back', network: 'back', sandbox: 'web', aliases: [], service: undefined });
    const follower = Store.restore(leader.snapshot());
    const [first, ...rest] = commands;
    if (first) expect(follower.apply(first)).toEqual(leader.apply(first));
    const restored = Store.restore(leader.snapshot());
    expect(restored.drains()).toEqual(leader.drains());
    for (const command of rest) {
      const result = leader.apply(command);
      expect(follower.apply(command)).toEqual(result);
      expect(restored.apply(command)).toEqual(result);
    }
    expect(follower.snapshot()).toEqual(leader.snapshot());
    expect(restored.snapshot()).toEqual(leader.snapshot());
    expect(leader.sandbox('app')).toBeUndefined();
  });
});
