import type { LbService, NamespaceBalancing } from './model';
import type { IpvsObserved } from './ipvs-model';
import { parseIpvsNamespace } from './ipvs-parse';
import { planIpvs } from './ipvs-plan';
import { applyScript, batchLines, describeOp } from './ipvs-render';

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
const ipvsadmLines = (ops: Parameters<typeof batchLines>[0]): string[] => batchLines(ops, 'ipvsadm');
/** The sandbox's interface address on the VIP's network, as observe reads it. */
const ADDRESSES = '@addr [{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.9.0.11","prefixlen":24}]}]';

/** What observe would read after the plan for the namespace (with its address) was applied. */
function programmed(services: LbService[]): Map<string, IpvsObserved> {
  const ops = planIpvs(desired(services), new Map([['sb1', parseIpvsNamespace([ADDRESSES])]]))[0]?.ops ?? [];
  const lines = ipvsadmLines(ops);
  const timeouts = lines.find((line) => line.startsWith('--set '))?.split(' ').slice(1).join(' ') ?? '900 120 300';
  const table = lines.filter((line) => !line.startsWith('--set '));
  const routes = ops.flatMap((op) => (op.op === 'route-vip' ? [{ dst: op.route.vip, dev: 'lo', protocol: '211', prefsrc: op.route.src }] : []));
  return new Map([['sb1', parseIpvsNamespace([...table, `Timeout (tcp tcpfin udp): ${timeouts}`, '@expire 1', ADDRESSES, `@routes ${JSON.stringify(routes)}`])]]);
}

describe('planIpvs', () => {
  test('an empty namespace gets the service, its real servers in NAT mode, the VIP route from its own address, the timeouts and expire_nodest_conn', () => {
    const changes = planIpvs(desired([service({ tcpIdleTimeoutSeconds: 3600 })]), new Map([['sb1', parseIpvsNamespace([ADDRESSES])]]));
    expect(changes).toHaveLength(1);
    expect(changes[0]?.ops.map(describeOp)).toEqual([
      'ipvsadm -A -t 10.9.0.100:80 -s rr',
      'ipvsadm -a -t 10.9.0.100:80 -r 10.9.0.12:8080 -m -w 1',
      'ipvsadm -a -t 10.9.0.100:80 -r 10.9.0.13:8080 -m -w 1',
      'ip route replace 10.9.0.100/32 dev lo proto 211 src 10.9.0.11',
      'ipvsadm --set 3600 120 300',
      'sysctl net.ipv4.vs.expire_nodest_conn=1',
    ]);
  });

  test('no VIP route while no address of the namespace covers the VIP; a wrong or stray one is put right', () => {
    const withoutAddress = planIpvs(desired([service()]), new Map());
    expect(withoutAddress[0]?.ops.some((op) => op.op === 'route-vip')).toBe(false);
    const routes = '@routes [{"dst":"10.9.0.100","dev":"lo","protocol":"211","prefsrc":"10.9.0.99"},{"dst":"10.9.0.200","dev":"lo","protocol":"211","prefsrc":"10.9.0.11"}]';
    const observed = programmed([service()]);
    const drifted = new Map([['sb1', { ...(observed.get('sb1') as IpvsObserved), vipRoutes: parseIpvsNamespace([routes]).vipRoutes }]]);
    expect(planIpvs(desired([service()]), drifted)[0]?.ops.map(describeOp)).toEqual([
      'ip route del 10.9.0.200/32 dev lo proto 211',
      'ip route replace 10.9.0.100/32 dev lo proto 211 src 10.9.0.11',
    ]);
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
    expect(ipvsadmLines(left[0]?.ops ?? [])).toEqual(['-d -t 10.9.0.100:80 -r 10.9.0.12:8080']);
    const joined = planIpvs(desired([service({ backends: [...service().backends, { ip: '10.9.0.14', accepting: true }] })]), observed);
    expect(ipvsadmLines(joined[0]?.ops ?? [])).toEqual(['-a -t 10.9.0.100:80 -r 10.9.0.14:8080 -m -w 1']);
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
    expect(ipvsadmLines(planIpvs(desired([service()]), observed)[0]?.ops ?? [])).toEqual([
      '-D -f 9',
      '-D -t 10.9.0.200:80',
      '-E -t 10.9.0.100:80 -s rr',
      '-e -t 10.9.0.100:80 -r 10.9.0.12:8080 -m -w 1',
      '-a -t 10.9.0.100:80 -r 10.9.0.13:8080 -m -w 1',
    ]);
  });

  test('a namespace observed but no longer desired is emptied; its timeouts are left alone', () => {
    const observed = programmed([service({ tcpIdleTimeoutSeconds: 3600 })]);
    expect(planIpvs([], observed)[0]?.ops.map(describeOp)).toEqual(['ipvsadm -D -t 10.9.0.100:80', 'ip route del 10.9.0.100/32 dev lo proto 211']);
    expect(planIpvs(desired([]), new Map([['sb1', parseIpvsNamespace(['Timeout (tcp tcpfin udp): 900 120 300'])]]))).toEqual([]);
  });

  test('timeouts are per namespace: the longest any service asks for; 0 keeps IPVS default', () => {
    const services = [
      service({ tcpIdleTimeoutSeconds: 1800, udpIdleTimeoutSeconds: 0 }),
      service({ key: 's2/n1', vip: '10.9.0.101', tcpIdleTimeoutSeconds: 7200, ports: [{ protocol: 'udp', port: 53, targetPort: 5353 }] }),
    ];
    const lines = ipvsadmLines(planIpvs(desired(services), new Map())[0]?.ops ?? []);
    expect(lines).toContain('--set 7200 120 300');
    expect(lines).toContain('-A -u 10.9.0.101:53 -s rr');
  });

  test('each port of a VIP is its own virtual service, its backends on the target port', () => {
    const lines = ipvsadmLines(planIpvs(desired([service({ ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }, { protocol: 'udp', port: 80, targetPort: 9090 }] })]), new Map())[0]?.ops ?? []);
    expect(lines).toEqual(expect.arrayContaining(['-A -t 10.9.0.100:80 -s rr', '-A -u 10.9.0.100:80 -s rr', '-a -u 10.9.0.100:80 -r 10.9.0.13:9090 -m -w 1']));
  });
});

describe('applyScript', () => {
  const service80 = { protocol: 'tcp', vip: '10.9.0.100', port: 80 } as const;

  test('a backend change is ipvsadm -R alone in the namespace, its name quoted', () => {
    const script = applyScript([{ netns: "odd'name", ops: [{ op: 'delete-real', service: service80, ip: '10.9.0.12', port: 8080 }] }], '/run/netns');
    expect(script).toContain(`ns='odd'\\''name'\nout=$(nsenter --net='/run/netns'/"$ns" -- ipvsadm -R 2>&1 <<'TRELLIS_IPVS_END'\n-d -t 10.9.0.100:80 -r 10.9.0.12:8080\nTRELLIS_IPVS_END\n)`);
    expect(script.match(/nsenter/g)).toHaveLength(1);
  });

  test('routes and the sysctl join ipvsadm in one shell per namespace, table first, stopping at the first failure', () => {
    const script = applyScript(
      [{ netns: 'sb2', ops: [{ op: 'add-service', service: service80, scheduler: 'rr' }, { op: 'route-vip', route: { vip: '10.9.0.100', src: '10.9.0.11' } }, { op: 'expire-nodest-conn' }] }],
      '/run/netns',
    );
    expect(script).toContain(
      `-- sh -c 'set -e\nipvsadm -R <<'\\''TRELLIS_IPVS_END'\\''\n-A -t 10.9.0.100:80 -s rr\nTRELLIS_IPVS_END\nip -batch - <<'\\''TRELLIS_IPVS_END'\\''\nroute replace 10.9.0.100/32 dev lo proto 211 src 10.9.0.11\nTRELLIS_IPVS_END\necho 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn' 2>&1)`,
    );
  });
});
