import { HOST, ROOT, bridgeAction, describeAction, inSandbox, ipAction, toBatches } from './actions';

describe('batches', () => {
  test('consecutive actions of one tool and namespace share a batch, in order', () => {
    const actions = [
      ipAction(HOST, 'link', 'del', 'dev', 'trve-a'),
      ipAction(HOST, 'link', 'del', 'dev', 'trve-b'),
      ipAction(ROOT, 'netns', 'add', 'trsb-a'),
      ipAction(inSandbox('trsb-a'), 'link', 'set', 'dev', 'lo', 'up'),
      ipAction(inSandbox('trsb-b'), 'link', 'set', 'dev', 'lo', 'up'),
      bridgeAction('fdb', 'replace', 'm', 'dev', 'trvx-1', 'dst', 'x', 'self', 'permanent'),
      ipAction(HOST, 'neigh', 'replace', '10.0.0.1', 'lladdr', 'm', 'dev', 'trvx-1', 'nud', 'permanent'),
    ];
    expect(toBatches(actions).map((batch) => [batch.tool, batch.scope, batch.lines.length])).toEqual([
      ['ip', HOST, 2],
      ['ip', ROOT, 1],
      ['ip', inSandbox('trsb-a'), 1],
      ['ip', inSandbox('trsb-b'), 1],
      ['bridge', HOST, 1],
      ['ip', HOST, 1],
    ]);
  });

  test('descriptions read as the command a user would type', () => {
    expect(describeAction(ipAction(inSandbox('trsb-a'), 'addr', 'add', '10.0.0.2/24', 'dev', 'eth0'))).toBe(
      'ip -n trsb-a addr add 10.0.0.2/24 dev eth0',
    );
    expect(describeAction(ipAction(ROOT, 'netns', 'del', 'trsb-a'))).toBe('ip netns del trsb-a');
  });
});
