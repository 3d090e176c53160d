import { HOST, ROOT, bridgeAction, describeAction, inNetns, ipAction, type KernelAction } from '../kernel';
import { ACTION_KINDS, actionKind, type ActionKind } from './action-kind';
import { plan } from './plan';
import { EMPTY, NOTHING_OBSERVED, programmed, want } from './plan-fixtures';

const sandbox = inNetns('trsb-web');

describe('actionKind', () => {
  const cases: Array<[ActionKind, KernelAction]> = [
    ['fdb', bridgeAction(HOST, 'fdb', 'replace', '02:42:0a:e7:01:03', 'dev', 'trvx-100', 'dst', '198.18.0.2', 'self', 'permanent')],
    ['fdb', bridgeAction(HOST, 'fdb', 'del', '02:00:5e:00:53:01', 'dev', 'trvx-100', 'dst', '198.18.0.99', 'self')],
    ['neighbour', ipAction(HOST, 'neigh', 'replace', '10.231.1.3', 'lladdr', '02:42:0a:e7:01:03', 'dev', 'trvx-100', 'nud', 'permanent')],
    ['neighbour', ipAction(HOST, 'neigh', 'del', '10.231.1.3', 'dev', 'trvx-100')],
    ['bridge', ipAction(HOST, 'link', 'add', 'name', 'trbr-100', 'mtu', '1450', 'up', 'type', 'bridge')],
    ['bridge', ipAction(HOST, 'link', 'set', 'dev', 'trbr-100', 'mtu', '1400')],
    ['vxlan', ipAction(HOST, 'link', 'add', 'name', 'trvx-100', 'mtu', '1450', 'master', 'trbr-100', 'up', 'type', 'vxlan', 'id', '100', 'dev', 'uplink')],
    ['vxlan', ipAction(HOST, 'link', 'del', 'dev', 'trvx-100')],
    ['vxlan', ipAction(HOST, 'link', 'set', 'trvx-100', 'netns', 'trnw-100')],
    ['veth', ipAction(HOST, 'link', 'add', 'name', 'trve-e1aaaaaaaa', 'master', 'trbr-100', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'trsb-web')],
    ['veth', ipAction(HOST, 'link', 'set', 'dev', 'trve-e1aaaaaaaa', 'master', 'trbr-100')],
    ['veth', ipAction(sandbox, 'link', 'set', 'dev', 'eth0', 'up')],
    ['veth', ipAction(sandbox, 'link', 'del', 'dev', 'eth1')],
    ['netns', ipAction(sandbox, 'link', 'set', 'dev', 'lo', 'up', 'alias', 'trellis-owner=a')],
    ['netns', ipAction(ROOT, 'netns', 'add', 'trsb-web')],
    ['netns', ipAction(ROOT, 'netns', 'attach', 'trsb-web', '4242')],
    ['address', ipAction(sandbox, 'addr', 'add', '10.231.1.2/24', 'dev', 'eth0')],
    ['address', ipAction(sandbox, 'address', 'del', '10.231.1.9/24', 'dev', 'eth0')],
    ['route', ipAction(sandbox, 'route', 'replace', 'default', 'via', '10.231.1.1', 'dev', 'eth0')],
    ['sysctl', ipAction(sandbox, 'ntable', 'change', 'name', 'arp_cache', 'dev', 'eth0', 'retrans', '20')],
    ['sysctl', ipAction(ROOT, 'netns', 'exec', 'trsb-web', 'sysctl', '-w', 'net.ipv4.ip_forward=1')],
    ['veth', ipAction(HOST, 'link', 'add', 'name', 'trgw-s1', 'master', 'trellis_gw', 'type', 'veth', 'peer', 'name', 'gw0', 'netns', 'trsb-web')],
    ['bridge', ipAction(HOST, 'link', 'add', 'name', 'trellis_gw', 'up', 'type', 'bridge')],
    ['address', ipAction(HOST, 'addr', 'add', '172.29.0.1/16', 'dev', 'trellis_gw')],
    ['sysctl', { scope: HOST, tool: 'sysctl', args: ['net.ipv4.ip_forward=1'] }],
    ['firewall', { scope: HOST, tool: 'nft', args: ['table ip trellis'] }],
    ['other', ipAction(HOST, 'link', 'set', 'dev', 'eth0', 'mtu', '9000')],
    ['other', ipAction(HOST, 'rule', 'add', 'from', 'all')],
    ['other', bridgeAction(HOST, 'vlan', 'add', 'dev', 'trve-e1aaaaaaaa', 'vid', '2')],
    ['other', { scope: HOST, tool: 'ip', args: [] }],
  ];

  test.each(cases.map(([kind, action]) => [kind, describeAction(action), action] as const))('%s: %s', (kind, _command, action) => {
    expect(actionKind(action)).toBe(kind);
  });

  test('lists every kind once', () => {
    expect(new Set(ACTION_KINDS).size).toBe(ACTION_KINDS.length);
  });

  test('gives every write plan() makes, building a node from nothing and tearing it down, a kind of its own', () => {
    const writes = [...plan(want(), NOTHING_OBSERVED), ...plan(EMPTY, programmed(want()))];
    expect(writes.filter((action) => actionKind(action) === 'other')).toEqual([]);
  });
});
