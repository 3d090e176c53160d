import type { LbService, NamespaceBalancing } from '../model';
import { desiredTable } from './desired';
import { parseListing } from './listing';
import { planBalancing } from './plan';
import type { ObservedLb, ObservedTable } from './table';

const ip = (n: number): string => `10.1.${Math.floor(n / 256)}.${n % 256}`;

function service(key: string, vip: string, accepting: number[], draining: number[] = [], tcpIdleTimeoutSeconds = 0): LbService {
  return {
    key,
    vip,
    ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }],
    backends: [...accepting.map((n) => ({ ip: ip(n), accepting: true })), ...draining.map((n) => ({ ip: ip(n), accepting: false }))],
    tcpIdleTimeoutSeconds,
    udpIdleTimeoutSeconds: 0,
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, index) => from + index);

/** What the kernel holds after the table of `services` was written whole. */
function written(services: LbService[]): ObservedTable {
  const desired = desiredTable(services);
  return {
    ...desired,
    backendMaps: new Map([...desired.backendMaps].map(([name, addresses]) => [name, new Map(addresses.map((address, index) => [index, address]))])),
    misshapen: [],
  };
}

const ns = (services: LbService[]): NamespaceBalancing => ({ netns: 'trsb-one', services });
const held = (table: ObservedTable): Map<string, ObservedLb> => new Map([['trsb-one', { kind: 'table', table }]]);

describe('plan', () => {
  test('a namespace whose table is what it must be gets no change', () => {
    const services = [service('web', '10.9.0.1', range(1, 1001)), service('api', '10.9.0.2', [1, 2], [3])];
    expect(planBalancing([ns(services)], held(written(services)))).toEqual([]);
  });

  test('one backend of a thousand leaving: its slot takes the last one, the chain\'s rule says mod 999, nothing else is written', () => {
    const before = [service('web', '10.9.0.1', range(1, 1001)), service('api', '10.9.0.2', [1, 2])];
    const after = [service('web', '10.9.0.1', range(1, 1001).filter((n) => n !== 500)), before[1] as LbService];
    const table = written(before);
    const slots = [...table.backendMaps.values()].find((map) => map.size === 1000) ?? new Map<number, string>();
    const leaving = [...slots].find(([, address]) => address === ip(500))?.[0];
    const [change] = planBalancing([ns(after)], held(table));
    const lines = change?.transaction.trim().split('\n') ?? [];
    expect(change?.kind).toBe('update');
    expect(lines).toHaveLength(4);
    expect(lines.filter((line) => line.startsWith('delete element')).join()).toMatch(new RegExp(`\\{ ${leaving}, 999 \\}$`));
    expect(lines.filter((line) => line.startsWith('add element')).join()).toMatch(new RegExp(`\\{ ${leaving} : ${slots.get(999)} \\}$`));
    expect(lines.join('\n')).toMatch(/flush chain .*web-vip\nadd rule .*mod 999 map/);
    expect(change?.transaction).not.toMatch(/api|table|output/);
    expect(change?.clearFlows).toEqual([{ vip: '10.9.0.1', backend: ip(500) }]);
  });

  test('a backend drains (out of the map, into the draining set, flows kept), then leaves (its flows cleared)', () => {
    const serving = [service('web', '10.9.0.1', [1, 2, 3])];
    const draining = [service('web', '10.9.0.1', [2, 3], [1])];
    const [drain] = planBalancing([ns(draining)], held(written(serving)));
    expect(drain?.transaction).toContain(`add element ip trellis_lb ${'svc-'}`);
    expect(drain?.transaction).toMatch(/add element ip trellis_lb \S+-draining \{ 10\.1\.0\.1 \}/);
    expect(drain?.clearFlows).toEqual([]);

    const [leave] = planBalancing([ns([service('web', '10.9.0.1', [2, 3])])], held(written(draining)));
    expect(leave?.transaction).toMatch(/delete element ip trellis_lb \S+-draining \{ 10\.1\.0\.1 \}/);
    expect(leave?.clearFlows).toEqual([{ vip: '10.9.0.1', backend: '10.1.0.1' }]);
  });

  test('a service removed: its objects and element go, its flows are cleared by VIP, unless another service took the VIP', () => {
    const both = [service('web', '10.9.0.1', [1, 2]), service('api', '10.9.0.2', [3])];
    const [removal] = planBalancing([ns([both[1] as LbService])], held(written(both)));
    expect(removal?.transaction).toMatch(/delete element ip trellis_lb services \{ 10\.9\.0\.1 \}/);
    expect(removal?.transaction).toMatch(/delete chain .*web-vip/);
    expect(removal?.transaction).toMatch(/delete map .*web-backends/);
    expect(removal?.clearFlows).toEqual([{ vip: '10.9.0.1' }]);

    const [takeover] = planBalancing([ns([service('web2', '10.9.0.1', [2, 5])])], held(written([both[0] as LbService])));
    expect(takeover?.clearFlows).toEqual([{ vip: '10.9.0.1', backend: '10.1.0.1' }]);
  });

  test('no services: a stale table is deleted, no table stays none', () => {
    const [deletion] = planBalancing([ns([])], held(written([service('web', '10.9.0.1', [1])])));
    expect(deletion?.kind).toBe('delete');
    expect(deletion?.transaction).toBe('table ip trellis_lb\ndelete table ip trellis_lb\n');
    expect(planBalancing([ns([])], new Map())).toEqual([]);
  });

  test('no table: written whole; a misshapen one: replaced whole; an unreadable namespace: left alone', () => {
    const services = [service('web', '10.9.0.1', [1, 2])];
    expect(planBalancing([ns(services)], new Map())[0]?.transaction).toMatch(/^add table ip trellis_lb\n/);
    const misshapen = { ...written(services), misshapen: ['chain output'] };
    expect(planBalancing([ns(services)], held(misshapen))[0]?.transaction).toMatch(/^table ip trellis_lb\ndelete table ip trellis_lb\nadd table/);
    expect(planBalancing([ns(services)], new Map([['trsb-one', { kind: 'unreadable', reason: 'gone' }]]))).toEqual([]);
  });

  test('idle timeouts: a new value is a new shared object and its chain\'s rule, the old object goes; the default is no object', () => {
    const hour = [service('web', '10.9.0.1', [1], [], 3600)];
    const [change] = planBalancing([ns([service('web', '10.9.0.1', [1], [], 7200)])], held(written(hour)));
    expect(change?.transaction).toMatch(/add ct timeout ip trellis_lb tcp-idle-7200 \{ protocol tcp; l3proto ip; policy = \{ established: 7200 \}; \}/);
    expect(change?.transaction).toMatch(/ct timeout set "tcp-idle-7200"/);
    expect(change?.transaction).toMatch(/delete ct timeout ip trellis_lb tcp-idle-3600/);
    expect(desiredTable([service('web', '10.9.0.1', [1], [], 432_000)]).timeouts.size).toBe(0);
  });

  test('drift: a rule gone from a chain, or an element from the map, is put back and nothing else is touched', () => {
    const services = [service('web', '10.9.0.1', [1, 2]), service('api', '10.9.0.2', [3])];
    const table = written(services);
    const drifted: ObservedTable = {
      ...table,
      chains: new Map([...table.chains].map(([name, rules]) => [name, name.endsWith('web-vip') ? [] : rules])),
      services: new Map([...(table.services ?? [])].filter(([element]) => !element.startsWith('10.9.0.2'))),
    };
    const [repair] = planBalancing([ns(services)], held(drifted));
    const lines = repair?.transaction.trim().split('\n') ?? [];
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^flush chain .*web-vip$/);
    expect(lines[1]).toMatch(/^add rule .*web-vip dnat ip to numgen random mod 2 map @\S+web-backends$/);
    expect(lines[2]).toMatch(/^add element ip trellis_lb services \{ 10\.9\.0\.2 : goto \S+api-vip \}$/);
  });

  test('a VIP takes every port and protocol: one element by address, a chain that rewrites the address only, whatever ports the service declares', () => {
    const undeclared = { ...service('db', '10.9.0.3', [1, 2]), ports: [] };
    const table = desiredTable([undeclared]);
    expect([...(table.services ?? new Map()).keys()]).toEqual(['10.9.0.3']);
    expect([...table.chains.values()]).toEqual([[expect.stringMatching(/^dnat ip to numgen random mod 2 map @svc-\S+-db-backends$/)]]);
    expect(desiredTable([service('db', '10.9.0.3', [1, 2])])).toEqual(table);
    expect(table.outputRules).toEqual(['ip daddr vmap @services']);
  });

  test('a TCP and a UDP idle timeout both stand in the VIP\'s chain before its DNAT (each acts on its own protocol\'s flows only)', () => {
    const both = { ...service('web', '10.9.0.1', [1], [], 3600), udpIdleTimeoutSeconds: 900 };
    const table = desiredTable([both]);
    expect([...table.chains.values()][0]).toEqual(['ct timeout set "tcp-idle-3600"', 'ct timeout set "udp-idle-900"', expect.stringMatching(/^dnat ip to /)]);
    expect([...table.timeouts.keys()].sort()).toEqual(['tcp-idle-3600', 'udp-idle-900']);
  });

  test('a table an older agent wrote (its map keyed by VIP . protocol . port) reads as misshapen and is rebuilt whole', () => {
    const older = parseListing(
      JSON.stringify({
        nftables: [
          { table: { family: 'ip', name: 'trellis_lb' } },
          { map: { family: 'ip', name: 'services', table: 'trellis_lb', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict', elem: [[{ concat: ['10.9.0.1', 'tcp', 80] }, { goto: { target: 'svc-0123456789-web-tcp-80' } }]] } },
        ],
      }),
    );
    expect(older.misshapen).toEqual(['map services']);
    expect(planBalancing([ns([service('web', '10.9.0.1', [1])])], held(older))[0]?.kind).toBe('rebuild');
  });
});
