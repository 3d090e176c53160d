import { buildDirectory, type DirectoryAnswer } from './directory';
import type { Asker } from './model';
import { BACK, BOTH, CLI, ENDPOINTS, endpoint, LONER, READY, service, SERVICES, testView } from './test-views';

const directory = buildDirectory(testView(), READY);
const ask = (asker: Asker, name: string, type = 'A'): DirectoryAnswer => directory.answer(asker, { name, type });
const addresses = (...data: string[]): DirectoryAnswer => ({ kind: 'records', type: 'A', data, shuffle: false });
const shuffled = (...data: string[]): DirectoryAnswer => ({ kind: 'records', type: 'A', data, shuffle: true });
const NXDOMAIN: DirectoryAnswer = { kind: 'nxdomain' };

describe('the directory of cluster names', () => {
  it('answers a sandbox name, an endpoint hostname and an alias from a sandbox on the shared network', () => {
    expect(ask(CLI, 'db')).toEqual(addresses('10.231.1.10'));
    expect(ask(CLI, 'database')).toEqual(addresses('10.231.1.10'));
    expect(ask(CLI, 'pg')).toEqual(addresses('10.231.1.10'));
  });

  it('answers nothing (NXDOMAIN) to a sandbox that shares no network with the target', () => {
    expect(ask(LONER, 'db')).toEqual(NXDOMAIN);
    expect(ask(LONER, 'api')).toEqual(NXDOMAIN);
    expect(ask(LONER, 'tasks.api')).toEqual(NXDOMAIN);
  });

  it('answers an alias only on the network it was given on, with the address there', () => {
    expect(ask(CLI, 'db.internal')).toEqual(NXDOMAIN);
    expect(ask(BOTH, 'db.internal')).toEqual(addresses('10.231.2.10'));
    expect(ask(BOTH, 'pg')).toEqual(addresses('10.231.1.10'));
  });

  it("answers a target on several shared networks with its address on each, in the order of the networks' names", () => {
    expect(ask(BOTH, 'db')).toEqual(addresses('10.231.2.10', '10.231.1.10'));
    expect(ask(BOTH, 'api')).toEqual(addresses('10.231.2.100', '10.231.1.100'));
  });

  it('answers a vip service with its VIP on the shared networks only', () => {
    expect(ask(CLI, 'api')).toEqual(addresses('10.231.1.100'));
  });

  it('answers a dnsrr service and tasks.SERVICE with the ready, not draining backends, to be shuffled', () => {
    expect(ask(CLI, 'rr')).toEqual(shuffled('10.231.1.31', '10.231.1.32'));
    expect(ask(CLI, 'tasks.rr')).toEqual(shuffled('10.231.1.31', '10.231.1.32'));
    expect(ask(CLI, 'tasks.api')).toEqual(shuffled('10.231.1.21', '10.231.1.22'));
    expect(ask(BOTH, 'tasks.api')).toEqual(shuffled('10.231.2.21', '10.231.1.21', '10.231.1.22'));
  });

  it('gives no name to an endpoint that is not ready or is draining', () => {
    expect(ask(CLI, 'api-3')).toEqual(NXDOMAIN);
    expect(ask(CLI, 'api-4')).toEqual(NXDOMAIN);
    expect(ask(CLI, '24.1.231.10.in-addr.arpa', 'PTR')).toEqual(NXDOMAIN);
    const none = buildDirectory(testView(), new Set());
    expect(none.answer(CLI, { name: 'db', type: 'A' })).toEqual(NXDOMAIN);
    expect(none.answer(CLI, { name: 'rr', type: 'A' })).toEqual(NXDOMAIN);
  });

  it('sees through the endpoints of the asking namespace that are not leaving', () => {
    const leaving = ENDPOINTS.map((candidate) => (candidate.id === 'both-back' ? { ...candidate, draining: true } : candidate));
    const view = buildDirectory(testView({ endpoints: leaving }), READY);
    expect(view.answer(BOTH, { name: 'db', type: 'A' })).toEqual(addresses('10.231.1.10'));
    expect(view.answer(BOTH, { name: 'db.internal', type: 'A' })).toEqual(NXDOMAIN);
  });

  it('answers PTR for an overlay address the asker may see with the sandbox name, and for a VIP with the service name', () => {
    expect(ask(CLI, '10.1.231.10.in-addr.arpa', 'PTR')).toEqual({ kind: 'records', type: 'PTR', data: ['db'], shuffle: false });
    expect(ask(CLI, '100.1.231.10.in-addr.arpa.', 'PTR')).toEqual({ kind: 'records', type: 'PTR', data: ['api'], shuffle: false });
    expect(ask(CLI, '10.2.231.10.in-addr.arpa', 'PTR')).toEqual(NXDOMAIN);
    expect(ask(LONER, '10.1.231.10.in-addr.arpa', 'PTR')).toEqual(NXDOMAIN);
    expect(ask(CLI, '99.1.231.10.in-addr.arpa', 'PTR')).toEqual(NXDOMAIN);
    expect(ask(CLI, '10.1.231.10.in-addr.arpa', 'A')).toEqual({ kind: 'nodata' });
    expect(ask(CLI, '1.0.0.127.in-addr.arpa', 'PTR')).toEqual({ kind: 'forward', dns: [] });
    expect(ask(CLI, '1.231.10.in-addr.arpa', 'PTR')).toEqual({ kind: 'forward', dns: [] });
  });

  it('reads names without regard to case or a trailing dot', () => {
    expect(ask(CLI, 'DB.')).toEqual(addresses('10.231.1.10'));
    expect(ask(CLI, 'Tasks.RR.')).toEqual(shuffled('10.231.1.31', '10.231.1.32'));
    expect(ask(BOTH, 'db.INTERNAL.')).toEqual(addresses('10.231.2.10'));
  });

  it('answers other types of a name the asker sees with no records, and of one it does not see with NXDOMAIN', () => {
    expect(ask(CLI, 'db', 'AAAA')).toEqual({ kind: 'nodata' });
    expect(ask(CLI, 'api', 'MX')).toEqual({ kind: 'nodata' });
    expect(ask(CLI, 'db', 'ANY')).toEqual(addresses('10.231.1.10'));
    expect(ask(LONER, 'db', 'AAAA')).toEqual(NXDOMAIN);
  });

  it("keeps the cluster's own names from upstreams: single labels, tasks.LABEL and names the view holds anywhere", () => {
    expect(ask(CLI, 'nothing')).toEqual(NXDOMAIN);
    expect(ask(CLI, 'tasks.nothing')).toEqual(NXDOMAIN);
    expect(ask(CLI, 'db.internal', 'AAAA')).toEqual(NXDOMAIN);
    expect(ask(CLI, 'example.com')).toEqual({ kind: 'forward', dns: [] });
    expect(ask(CLI, 'tasks.example.com')).toEqual({ kind: 'forward', dns: [] });
    expect(ask(CLI, '.')).toEqual({ kind: 'forward', dns: [] });
  });

  it("forwards to the asking sandbox's --dns servers in interface order, or to none of its own", () => {
    expect(ask(BOTH, 'example.com')).toEqual({ kind: 'forward', dns: ['192.0.2.53', '192.0.2.54'] });
    expect(ask({ netnsName: 'not-a-sandbox' }, 'example.com')).toEqual({ kind: 'forward', dns: [] });
    expect(ask({ netnsName: 'not-a-sandbox' }, 'db')).toEqual(NXDOMAIN);
    expect(directory.answer(BOTH, { name: 'version.bind', type: 'TXT', class: 'CH' })).toEqual({ kind: 'forward', dns: ['192.0.2.53', '192.0.2.54'] });
    expect(directory.answer(CLI, { name: 'db', type: 'A', class: 'CH' })).toEqual({ kind: 'forward', dns: [] });
  });

  it('refuses to forward for a sandbox with no way out (only --internal networks, or none), but answers its cluster names', () => {
    const vault = { id: 'sb-vault', name: 'vault', netnsName: 'trsb-vault', networkMode: '', sharesNetns: false, netnsPath: '' };
    const bare = { id: 'sb-bare', name: 'bare', netnsName: 'trsb-bare', networkMode: '', sharesNetns: false, netnsPath: '' };
    const adopted = { id: 'sb-adopted', name: 'adopted', netnsName: 'trsb-adopted', networkMode: '', sharesNetns: false, netnsPath: '/proc/4242/ns/net' };
    const vaultBack = endpoint('vault-back', { nodeId: 'A', sandboxId: vault.id, sandboxName: 'vault', networkId: BACK.id, ip: '10.231.2.40', dns: ['192.0.2.53'] });
    const view = testView({ sandboxes: [...testView().sandboxes, vault, bare, adopted], endpoints: [...ENDPOINTS, vaultBack] });
    const isolated = buildDirectory(view, new Set([...READY, vaultBack.id]));
    for (const asker of [{ netnsName: 'trsb-vault' }, { netnsName: 'trsb-bare' }]) {
      expect(isolated.answer(asker, { name: 'example.com', type: 'A' })).toEqual({ kind: 'refused' });
      expect(isolated.answer(asker, { name: 'version.bind', type: 'TXT', class: 'CH' })).toEqual({ kind: 'refused' });
    }
    expect(isolated.answer({ netnsName: 'trsb-vault' }, { name: 'db', type: 'A' })).toEqual(addresses('10.231.2.10'));
    expect(isolated.answer({ netnsName: 'trsb-vault' }, { name: 'nothing', type: 'A' })).toEqual(NXDOMAIN);
    // Internal and outside networks together, or a namespace with ways out of its own: forwarded.
    expect(isolated.answer(BOTH, { name: 'example.com', type: 'A' })).toEqual({ kind: 'forward', dns: ['192.0.2.53', '192.0.2.54'] });
    expect(isolated.answer({ netnsName: 'trsb-adopted' }, { name: 'example.com', type: 'A' })).toEqual({ kind: 'forward', dns: [] });
  });

  it('answers all addresses of a name that a sandbox and a service share on a network', () => {
    const web = endpoint('web-front', { sandboxName: 'web', hostname: 'web', ip: '10.231.1.50' });
    const view = testView({ endpoints: [...ENDPOINTS, web], services: [...SERVICES, service('svc-web', 'web', 'vip', [{ networkId: BACK.id, ip: '10.231.2.200' }, { networkId: 'n1', ip: '10.231.1.200' }])] });
    const both = buildDirectory(view, new Set([...READY, web.id]));
    expect(both.answer(CLI, { name: 'web', type: 'A' })).toEqual(addresses('10.231.1.50', '10.231.1.200'));
  });
});
