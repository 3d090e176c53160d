import { HOST, ROOT, bridgeAction, concurrentGroups, describeAction, inNetns, ipAction, toBatches } from './actions';

describe('batches', () => {
  test('consecutive actions of one tool and namespace share a batch, in order', () => {
    const actions = [
      ipAction(HOST, 'link', 'del', 'dev', 'trve-a'),
      ipAction(HOST, 'link', 'del', 'dev', 'trve-b'),
      ipAction(ROOT, 'netns', 'add', 'trsb-a'),
      ipAction(inNetns('trsb-a'), 'link', 'set', 'dev', 'lo', 'up'),
      ipAction(inNetns('trsb-b'), 'link', 'set', 'dev', 'lo', 'up'),
      bridgeAction(HOST, 'fdb', 'replace', 'm', 'dev', 'trvx-1', 'dst', 'x', 'self', 'permanent'),
      ipAction(HOST, 'neigh', 'replace', '10.0.0.1', 'lladdr', 'm', 'dev', 'trvx-1', 'nud', 'permanent'),
    ];
    expect(toBatches(actions).map((batch) => [batch.tool, batch.scope, batch.lines.length])).toEqual([
      ['ip', HOST, 2],
      ['ip', ROOT, 1],
      ['ip', inNetns('trsb-a'), 1],
      ['ip', inNetns('trsb-b'), 1],
      ['bridge', HOST, 1],
      ['ip', HOST, 1],
    ]);
  });

  test('descriptions read as the command a user would type', () => {
    expect(describeAction(ipAction(inNetns('trsb-a'), 'addr', 'add', '10.0.0.2/24', 'dev', 'eth0'))).toBe(
      'ip -n trsb-a addr add 10.0.0.2/24 dev eth0',
    );
    expect(describeAction(ipAction(ROOT, 'netns', 'del', 'trsb-a'))).toBe('ip netns del trsb-a');
    expect(describeAction({ scope: HOST, tool: 'sysctl', args: ['net.ipv4.ip_forward=1'] })).toBe('sysctl -w net.ipv4.ip_forward=1');
  });

  test('every nft script and sysctl write runs on its own', () => {
    const script = { scope: HOST, tool: 'nft' as const, args: ['table ip trellis'] };
    expect(toBatches([script, script]).map((batch) => batch.lines.length)).toEqual([1, 1]);
  });

  test('deletes in namespaces of their own may run at once; anything else, or a second batch in one namespace, waits its turn', () => {
    const batches = toBatches([
      ipAction(HOST, 'link', 'del', 'dev', 'trgw-a'),
      ipAction(inNetns('trnw-1'), 'link', 'del', 'dev', 'trvx-1'),
      ipAction(inNetns('trnw-2'), 'link', 'del', 'dev', 'trvx-2'),
      bridgeAction(inNetns('trnw-2'), 'fdb', 'del', 'm', 'dev', 'trvx-2', 'self'),
      ipAction(inNetns('trnw-3'), 'link', 'del', 'dev', 'trvx-3'),
      ipAction(ROOT, 'netns', 'del', 'trnw-1'),
      ipAction(inNetns('trnw-4'), 'link', 'del', 'dev', 'trvx-4'),
      ipAction(inNetns('trnw-5'), 'link', 'set', 'dev', 'trvx-5', 'up'),
    ]);
    expect(concurrentGroups(batches).map((group) => group.map((batch) => batch.lines[0]?.join(' ')))).toEqual([
      ['link del dev trgw-a'],
      ['link del dev trvx-1', 'link del dev trvx-2'],
      ['fdb del m dev trvx-2 self', 'link del dev trvx-3'],
      ['netns del trnw-1'],
      ['link del dev trvx-4'],
      ['link set dev trvx-5 up'],
    ]);
  });
});

