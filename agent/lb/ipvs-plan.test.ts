import type { LbService, NamespaceBalancing } from './model';
import type { IpvsObserved } from './ipvs-model';
import { parseIpvsNamespace } from './ipvs-parse';
import { planIpvs } from './ipvs-plan';
import { applyScript, restoreLines } from './ipvs-render';

function service(overrides: Partial<LbService> = {}): LbService {
  return {
    key: 's1/n1',
    vip: '10.9.0.100',
    ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }],
    backends: [
      { ip: '10.9.0.12', accepting: true },
      { ip: '10.9.0.13', accepting: true },
    ],
    tcpIdleTimeoutSeconds: 0,
    udpIdleTimeoutSeconds: 0,
    ...overrides,
  };
}

const desired = (services: LbService[]): NamespaceBalancing[] => [{ netns: 'sb1', services }];

/** What observe would read after the plan for an empty namespace was applied. */
function programmed(services: LbService[]): Map<string, IpvsObserved> {
  const changes = planIpvs(desired(services), new Map());
  const lines = restoreLines(changes[0]?.ops ?? []);
  const timeouts = lines.find((line) => line.startsWith('--set '))?.split(' ').slice(1).join(' ') ?? '900 120 300';
  const table = lines.filter((line) => !line.startsWith('--set '));
  return new Map([['sb1', parseIpvsNamespace([...table, `Timeout (tcp tcpfin udp): ${timeouts}`, '@expire 1'])]]);
}

describe('planIpvs', () => {
  test('an empty namespace gets the service, its real servers in NAT mode, the timeouts and expire_nodest_conn', () => {
    const changes = planIpvs(desired([service({ tcpIdleTimeoutSeconds: 3600 })]), new Map());
    expect(changes).toHaveLength(1);
    expect(restoreLines(changes[0]?.ops ?? [])).toEqual([
      '-A -t 10.9.0.100:80 -s rr',
      '-a -t 10.9.0.100:80 -r 10.9.0.12:8080 -m -w 1',
      '-a -t 10.9.0.100:80 -r 10.9.0.13:8080 -m -w 1',
      '--set 3600 120 300',
    ]);
    expect(changes[0]?.ops.at(-1)).toEqual({ op: 'expire-nodest-conn' });
  });

  test('plans nothing when the namespace already holds what is desired', () => {
    const services = [service({ tcpIdleTimeoutSeconds: 3600, udpIdleTimeoutSeconds: 600 })];
    expect(planIpvs(desired(services), programmed(services))).toEqual([]);
  });

  test('one backend change is one real-server op: drain is an edit to weight 0, leaving is a delete, joining an add', () => {
    const services = [service()];
    const observed = programmed(services);
    const drained = planIpvs(desired([service({ backends: [{ ip: '10.9.0.12', accepting: false }, { ip: '10.9.0.13', accepting: true }] })]), observed);
    expect(drained).toEqual([{ netns: 'sb1', ops: [{ op: 'edit-real', service: { protocol: 'tcp', vip: '10.9.0.100', port: 80 }, real: { ip: '10.9.0.12', port: 8080, weight: 0, forwarding: '-m' } }] }]);
    const left = planIpvs(desired([service({ backends: [{ ip: '10.9.0.13', accepting: true }] })]), observed);
    expect(restoreLines(left[0]?.ops ?? [])).toEqual(['-d -t 10.9.0.100:80 -r 10.9.0.12:8080']);
    const joined = planIpvs(desired([service({ backends: [...service().backends, { ip: '10.9.0.14', accepting: true }] })]), observed);
    expect(restoreLines(joined[0]?.ops ?? [])).toEqual(['-a -t 10.9.0.100:80 -r 10.9.0.14:8080 -m -w 1']);
  });

  test('repairs drift: a real server deleted by hand, a wrong weight, forwarding or scheduler, a foreign service', () => {
    const observed = new Map([
      [
        'sb1',
        parseIpvsNamespace([
          '-A -t 10.9.0.100:80 -s wlc -p 60',
          '-a -t 10.9.0.100:80 -r 10.9.0.12:8080 -g -w 5',
          '-A -t 10.9.0.200:80 -s rr',
          '-A -f 9 -s rr',
          'Timeout (tcp tcpfin udp): 900 120 300',
          '@expire 1',
        ]),
      ],
    ]);
    expect(restoreLines(planIpvs(desired([service()]), observed)[0]?.ops ?? [])).toEqual([
      '-D -f 9',
      '-D -t 10.9.0.200:80',
      '-E -t 10.9.0.100:80 -s rr',
      '-e -t 10.9.0.100:80 -r 10.9.0.12:8080 -m -w 1',
      '-a -t 10.9.0.100:80 -r 10.9.0.13:8080 -m -w 1',
    ]);
  });

  test('a namespace observed but no longer desired is emptied; its timeouts are left alone', () => {
    const observed = programmed([service({ tcpIdleTimeoutSeconds: 3600 })]);
    expect(restoreLines(planIpvs([], observed)[0]?.ops ?? [])).toEqual(['-D -t 10.9.0.100:80']);
    expect(planIpvs(desired([]), new Map([['sb1', parseIpvsNamespace(['Timeout (tcp tcpfin udp): 900 120 300'])]]))).toEqual([]);
  });

  test('timeouts are per namespace: the longest any service asks for; 0 keeps IPVS default', () => {
    const services = [
      service({ tcpIdleTimeoutSeconds: 1800, udpIdleTimeoutSeconds: 0 }),
      service({ key: 's2/n1', vip: '10.9.0.101', tcpIdleTimeoutSeconds: 7200, ports: [{ protocol: 'udp', port: 53, targetPort: 5353 }] }),
    ];
    const lines = restoreLines(planIpvs(desired(services), new Map())[0]?.ops ?? []);
    expect(lines).toContain('--set 7200 120 300');
    expect(lines).toContain('-A -u 10.9.0.101:53 -s rr');
  });

  test('each port of a VIP is its own virtual service, its backends on the target port', () => {
    const lines = restoreLines(planIpvs(desired([service({ ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }, { protocol: 'udp', port: 80, targetPort: 9090 }] })]), new Map())[0]?.ops ?? []);
    expect(lines).toEqual(expect.arrayContaining(['-A -t 10.9.0.100:80 -s rr', '-A -u 10.9.0.100:80 -s rr', '-a -u 10.9.0.100:80 -r 10.9.0.13:9090 -m -w 1']));
  });
});

describe('applyScript', () => {
  test('one ipvsadm -R per namespace, a shell only when expire_nodest_conn must be set, names quoted', () => {
    const script = applyScript(
      [
        { netns: "odd'name", ops: [{ op: 'delete-real', service: { protocol: 'tcp', vip: '10.9.0.100', port: 80 }, ip: '10.9.0.12', port: 8080 }] },
        { netns: 'sb2', ops: [{ op: 'expire-nodest-conn' }] },
      ],
      '/run/netns',
    );
    expect(script).toContain(`ns='odd'\\''name'\nout=$(nsenter --net='/run/netns'/"$ns" -- ipvsadm -R 2>&1 <<'TRELLIS_IPVS_END'\n-d -t 10.9.0.100:80 -r 10.9.0.12:8080\nTRELLIS_IPVS_END\n)`);
    expect(script).toContain(`-- sh -c 'echo 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn' 2>&1`);
    expect(script.match(/nsenter/g)).toHaveLength(2);
  });
});
