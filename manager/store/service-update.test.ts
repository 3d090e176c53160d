import type { Command, UpdateService } from './commands';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

/** twoNodeStore with "api" (8080->80/tcp ingress, 53/udp host) and "other" (9090->90/tcp), "db" a backend of api. */
function storeWithServices(): Store {
  const store = twoNodeStore();
  must(store, { type: 'createService', id: 'api-id', name: 'api', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 8080 }, { protocol: 'udp', targetPort: 53, publishMode: 'host' }] });
  must(store, { type: 'createService', id: 'other-id', name: 'other', networks: ['front'], ports: [{ targetPort: 90, publishedPort: 9090 }] });
  must(store, { type: 'disconnect', network: 'front', sandbox: 'db' });
  must(store, { type: 'connect', endpointId: 'ep-db-api', network: 'front', sandbox: 'db', aliases: [], service: 'api' });
  return store;
}

const update = (fields: Partial<UpdateService>): UpdateService => ({ type: 'updateService', service: 'api', ...fields });

describe('service timeouts', () => {
  it('default to a 30 s drain and idle timeouts longer than IPVS, and take what create gives', () => {
    const store = twoNodeStore();
    expect(must(store, { type: 'createService', id: 'a', name: 'a', networks: ['front'] })).toMatchObject({
      drainTimeoutSeconds: 30, tcpIdleTimeoutSeconds: 86_400, udpIdleTimeoutSeconds: 900,
    });
    const created = must(store, { type: 'createService', id: 'b', name: 'b', networks: ['front'], drainTimeoutSeconds: 0, tcpIdleTimeoutSeconds: 3600, udpIdleTimeoutSeconds: 60 });
    expect(created).toMatchObject({ drainTimeoutSeconds: 0, tcpIdleTimeoutSeconds: 3600, udpIdleTimeoutSeconds: 60, updatedRevision: created.createdRevision });
  });

  it.each([
    [{ drainTimeoutSeconds: 86_401 }, 'drain_timeout_seconds', 'give 0 to 86400'],
    [{ tcpIdleTimeoutSeconds: 0 }, 'tcp_idle_timeout_seconds', 'give 1 to 604800'],
    [{ udpIdleTimeoutSeconds: 2 ** 32 - 1 }, 'udp_idle_timeout_seconds', '4294967295 seconds is out of range'],
  ])('refuses %j on create, naming the field and the range', (timeouts, field, message) => {
    const store = twoNodeStore();
    const result = store.apply({ type: 'createService', id: 'a', name: 'a', networks: ['front'], ...timeouts });
    expect(result).toEqual({ ok: false, error: { code: 'INVALID_ARGUMENT', field, message: expect.stringContaining(message) } });
    expect(store.services()).toEqual([]);
  });
});

describe('updateService', () => {
  it('adds and removes published ports and sets timeouts, keeping VIPs and backends, and bumps updatedRevision', () => {
    const store = storeWithServices();
    const before = store.service('api');
    const updated = must(store, update({ publishRm: [{ targetPort: 0, publishedPort: 8080 }], publishAdd: [{ targetPort: 443, publishedPort: 8443 }], drainTimeoutSeconds: 5 }));
    expect(updated.ports).toEqual([
      { protocol: 'udp', targetPort: 53, publishedPort: 53, publishMode: 'host' },
      { protocol: 'tcp', targetPort: 443, publishedPort: 8443, publishMode: 'ingress' },
    ]);
    expect(updated).toMatchObject({ drainTimeoutSeconds: 5, tcpIdleTimeoutSeconds: 86_400, vips: before?.vips, backends: before?.backends, updatedRevision: store.revision });
    expect(updated.createdRevision).toBe(before?.createdRevision);
    // The freed port can be published by another service now.
    must(store, { type: 'updateService', service: 'other', publishAdd: [{ targetPort: 80, publishedPort: 8080 }] });
  });

  it('changes a port by removing and adding it in one update; a bare target port removes the port published as it', () => {
    const store = storeWithServices();
    expect(must(store, update({ publishRm: [{ targetPort: 8080 }], publishAdd: [{ targetPort: 81, publishedPort: 8080 }] })).ports).toContainEqual({
      protocol: 'tcp', targetPort: 81, publishedPort: 8080, publishMode: 'ingress',
    });
    expect(must(store, update({ publishRm: [{ protocol: 'udp', targetPort: 53 }] })).ports.map((port) => port.protocol)).toEqual(['tcp']);
  });

  const refusals: [string, Partial<UpdateService>, string, string, string][] = [
    ['a port it does not publish', { publishRm: [{ targetPort: 9999 }] }, 'INVALID_ARGUMENT', 'publish_rm', 'publish_rm: 9999/tcp is not published by service "api" (it publishes 8080/tcp, 53/udp); give one of its ports'],
    ['a port of the wrong protocol', { publishRm: [{ protocol: 'udp', targetPort: 8080 }] }, 'INVALID_ARGUMENT', 'publish_rm', 'is not published by service "api"'],
    ['a bad protocol to remove', { publishRm: [{ protocol: 'sctp', targetPort: 8080 }] }, 'INVALID_ARGUMENT', 'publish_rm', 'publish_rm[0].protocol: "sctp" is not tcp or udp'],
    ["another service's ingress port", { publishAdd: [{ targetPort: 90, publishedPort: 9090 }] }, 'ALREADY_EXISTS', 'publish_add', 'publish_add: 9090/tcp is already published by service "other"'],
    ['a port it publishes already', { publishAdd: [{ targetPort: 81, publishedPort: 8080 }] }, 'INVALID_ARGUMENT', 'publish_add', 'publish_add: 8080/tcp is already published by service "api"; remove it in the same update (publish_rm)'],
    ['the same port twice', { publishAdd: [{ targetPort: 1 }, { targetPort: 1 }] }, 'INVALID_ARGUMENT', 'publish_add', 'published twice'],
    ['the VXLAN port', { publishAdd: [{ protocol: 'udp', targetPort: 4789 }] }, 'INVALID_ARGUMENT', 'publish_add', 'publish_add: 4789/udp is the VXLAN port'],
    ['a port out of range', { publishAdd: [{ targetPort: 70_000 }] }, 'INVALID_ARGUMENT', 'publish_add', 'publish_add[0].target_port: 70000 is out of range'],
    ['a drain timeout over a day', { drainTimeoutSeconds: 100_000 }, 'INVALID_ARGUMENT', 'drain_timeout_seconds', 'drain_timeout_seconds: 100000 seconds is out of range'],
    ['nothing to change', {}, 'INVALID_ARGUMENT', 'service', 'service: nothing to change'],
    ['an unknown service', { service: 'nope', drainTimeoutSeconds: 1 }, 'NOT_FOUND', 'service', 'service: no service named or with id "nope"'],
  ];
  it.each(refusals)('refuses %s, naming the field, and changes nothing', (_, fields, code, field, message) => {
    const store = storeWithServices();
    const before = store.snapshot();
    expect(store.apply(update(fields))).toEqual({ ok: false, error: { code, field, message: expect.stringContaining(message) } });
    expect(store.snapshot()).toEqual(before);
  });

  it('refuses an ingress port on a dnsrr service, and a port list over the limit', () => {
    const store = storeWithServices();
    must(store, { type: 'createService', id: 'd', name: 'dns', networks: ['front'], endpointMode: 'dnsrr' });
    expect(store.apply(update({ service: 'dns', publishAdd: [{ targetPort: 80 }] }))).toMatchObject({ ok: false, error: { field: 'publish_add', message: expect.stringContaining('needs a VIP') } });
    const many = Array.from({ length: 127 }, (_, index) => ({ targetPort: 10_000 + index }));
    expect(store.apply(update({ publishAdd: many }))).toMatchObject({ ok: false, error: { field: 'publish_add', message: expect.stringContaining('at most 128 per service, got 129') } });
  });

  it('leaves a drain under way as it was', () => {
    const store = storeWithServices();
    const draining = must(store, { type: 'disconnect', network: 'front', sandbox: 'db', at: 1_000 });
    must(store, update({ drainTimeoutSeconds: 300 }));
    expect(store.sandbox('db')?.endpoints[0]?.drainEndsAt).toBe(draining.drainEndsAt);
  });
});

describe('records from before drain and idle timeouts', () => {
  it('load with the defaults, and their services update and drain like new ones', () => {
    const store = storeWithServices();
    const snapshot = store.snapshot();
    // As an older manager wrote them: services without timeouts nor updatedRevision, endpoints and sandboxes without drain fields.
    const old = {
      ...snapshot,
      services: snapshot.services.map(({ drainTimeoutSeconds: _d, tcpIdleTimeoutSeconds: _t, udpIdleTimeoutSeconds: _u, updatedRevision: _r, ...rest }) => rest),
    };
    const restored = Store.restore(JSON.parse(JSON.stringify(old)) as typeof snapshot);
    expect(restored.service('api')).toMatchObject({ drainTimeoutSeconds: 30, tcpIdleTimeoutSeconds: 86_400, udpIdleTimeoutSeconds: 900, updatedRevision: store.service('api')?.createdRevision });
    expect(restored.service('api')).toEqual(store.service('api'));
    const commands: Command[] = [update({ publishAdd: [{ targetPort: 1 }] }), { type: 'removeSandbox', sandbox: 'db', at: 1_000 }];
    for (const command of commands) expect(restored.apply(command)).toEqual(store.apply(command));
    expect(restored.sandbox('db')).toMatchObject({ removing: true });
  });
});
