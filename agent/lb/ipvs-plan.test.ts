import type { LbService, NamespaceBalancing } from './model';
import type { IpvsObserved } from './ipvs-model';
import { parseIpvsNamespace } from './ipvs-parse';
import { planIpvs } from './ipvs-plan';
import { applyScript, describeOp } from './ipvs-render';

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
/** The sandbox's own address on the VIP's network, as observe reads it. */
const ADDRESSES = '@addr [{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.9.0.11","prefixlen":24}]}]';
const routes = (...vips: string[]): string => `@routes ${JSON.stringify(vips.map((vip) => ({ dst: vip, dev: 'lo', protocol: '211', prefsrc: '10.9.0.11' })))}`;
const observedAs = (...lines: string[]): Map<string, IpvsObserved> => new Map([['sb1', parseIpvsNamespace(lines)]]);
const opsOf = (services: LbService[], observed: Map<string, IpvsObserved>): string[] => planIpvs(desired(services), observed).flatMap((change) => change.ops.map(describeOp));

/** What observe reads once the plan for the namespace (with its address) was applied. */
function programmed(services: LbService[]): Map<string, IpvsObserved> {
  const lines = opsOf(services, observedAs(ADDRESSES));
  const table = lines.filter((line) => /^ipvsadm -[Aa] /.test(line)).map((line) => line.slice('ipvsadm '.length));
  const timeouts = lines.find((line) => line.startsWith('ipvsadm --set '))?.slice('ipvsadm --set '.length) ?? '900 120 300';
  const vips = lines.flatMap((line) => /^ip route replace ([0-9.]+)\//.exec(line)?.[1] ?? []);
  return observedAs(...table, `Timeout (tcp tcpfin udp): ${timeouts}`, '@expire 1', ADDRESSES, routes(...vips));
}

describe('planIpvs', () => {
  test('an empty namespace gets the VIP route from its own address, the service, its real servers in NAT mode, the timeouts and expire_nodest_conn', () => {
    expect(opsOf([service({ tcpIdleTimeoutSeconds: 3600 })], observedAs(ADDRESSES))).toEqual([
      'ip route replace 10.9.0.100/32 dev lo proto 211 src 10.9.0.11',
      'ipvsadm -A -t 10.9.0.100:80 -s rr',
      'ipvsadm -a -t 10.9.0.100:80 -r 10.9.0.12:8080 -m -w 1',
      'ipvsadm -a -t 10.9.0.100:80 -r 10.9.0.13:8080 -m -w 1',
      'ipvsadm --set 3600 120 300',
      'sysctl net.ipv4.vs.expire_nodest_conn=1',
    ]);
  });

  test('plans nothing when the namespace already holds what is desired', () => {
    const services = [service({ tcpIdleTimeoutSeconds: 3600, udpIdleTimeoutSeconds: 600 })];
    expect(planIpvs(desired(services), programmed(services))).toEqual([]);
  });

  test('a VIP is not balanced until the namespace has its address on the VIP network', () => {
    expect(planIpvs(desired([service()]), observedAs('@addr [{"ifname":"eth1","addr_info":[{"family":"inet","local":"10.8.0.5","prefixlen":24}]}]'))).toEqual([]);
  });

  test('one backend change is one real-server op: drain is an edit to weight 0, leaving is a delete, joining an add', () => {
    const observed = programmed([service()]);
    const drained = planIpvs(desired([service({ backends: [{ ip: '10.9.0.12', accepting: false }, { ip: '10.9.0.13', accepting: true }] })]), observed);
    expect(drained).toEqual([{ netns: 'sb1', ops: [{ op: 'edit-real', service: { protocol: 'tcp', vip: '10.9.0.100', port: 80 }, real: { ip: '10.9.0.12', port: 8080, weight: 0, forwarding: '-m' } }] }]);
    expect(opsOf([service({ backends: [{ ip: '10.9.0.13', accepting: true }] })], observed)).toEqual(['ipvsadm -d -t 10.9.0.100:80 -r 10.9.0.12:8080']);
    expect(opsOf([service({ backends: [...service().backends, { ip: '10.9.0.14', accepting: true }] })], observed)).toEqual(['ipvsadm -a -t 10.9.0.100:80 -r 10.9.0.14:8080 -m -w 1']);
  });

  test('repairs drift on its own VIPs: a real server deleted by hand, a wrong weight, forwarding, scheduler, a stray port, its route', () => {
    const observed = observedAs(
      '-A -t 10.9.0.100:80 -s wlc -p 60',
      '-a -t 10.9.0.100:80 -r 10.9.0.12:8080 -g -w 5',
      '-A -u 10.9.0.100:53 -s rr',
      'Timeout (tcp tcpfin udp): 900 120 300',
      '@expire 1',
      ADDRESSES,
      '@routes [{"dst":"10.9.0.100","dev":"lo","protocol":"211","prefsrc":"10.9.0.99"}]',
    );
    expect(opsOf([service()], observed)).toEqual([
      'ip route replace 10.9.0.100/32 dev lo proto 211 src 10.9.0.11',
      'ipvsadm -D -u 10.9.0.100:53',
      'ipvsadm -E -t 10.9.0.100:80 -s rr',
      'ipvsadm -e -t 10.9.0.100:80 -r 10.9.0.12:8080 -m -w 1',
      'ipvsadm -a -t 10.9.0.100:80 -r 10.9.0.13:8080 -m -w 1',
    ]);
  });

  test('services of VIPs it neither balances nor routes are not its own: an adopted namespace runtime keeps them', () => {
    const services = [service()];
    const mine = programmed(services).get('sb1') as IpvsObserved;
    const theirs = parseIpvsNamespace(['-A -t 10.9.0.200:80 -s wlc', '-a -t 10.9.0.200:80 -r 10.9.0.50:80 -m -w 1', '-A -f 7 -s rr']).services;
    expect(planIpvs(desired(services), new Map([['sb1', { ...mine, services: [...mine.services, ...theirs] }]]))).toEqual([]);
  });

  test('a VIP no longer desired loses its services, then its route; a namespace no longer desired is emptied of them', () => {
    const observed = programmed([service(), service({ key: 's2/n1', vip: '10.9.0.101' })]);
    expect(opsOf([service()], observed)).toEqual(['ipvsadm -D -t 10.9.0.101:80', 'ip route del 10.9.0.101/32 dev lo proto 211']);
    expect(planIpvs([], observed).flatMap((change) => change.ops.map(describeOp))).toEqual([
      'ipvsadm -D -t 10.9.0.100:80',
      'ipvsadm -D -t 10.9.0.101:80',
      'ip route del 10.9.0.100/32 dev lo proto 211',
      'ip route del 10.9.0.101/32 dev lo proto 211',
    ]);
  });

  test('timeouts are per namespace: the longest any service asks for; 0 keeps IPVS default', () => {
    const services = [
      service({ tcpIdleTimeoutSeconds: 1800, udpIdleTimeoutSeconds: 0 }),
      service({ key: 's2/n1', vip: '10.9.0.101', tcpIdleTimeoutSeconds: 7200, ports: [{ protocol: 'udp', port: 53, targetPort: 5353 }] }),
    ];
    const lines = opsOf(services, observedAs(ADDRESSES));
    expect(lines).toContain('ipvsadm --set 7200 120 300');
    expect(lines).toContain('ipvsadm -A -u 10.9.0.101:53 -s rr');
  });

  test('each port of a VIP is its own virtual service, its backends on the target port, one route for the VIP', () => {
    const lines = opsOf([service({ ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }, { protocol: 'udp', port: 80, targetPort: 9090 }] })], observedAs(ADDRESSES));
    expect(lines).toEqual(expect.arrayContaining(['ipvsadm -A -t 10.9.0.100:80 -s rr', 'ipvsadm -A -u 10.9.0.100:80 -s rr', 'ipvsadm -a -u 10.9.0.100:80 -r 10.9.0.13:9090 -m -w 1']));
    expect(lines.filter((line) => line.startsWith('ip route'))).toHaveLength(1);
  });
});

describe('applyScript', () => {
  const service80 = { protocol: 'tcp', vip: '10.9.0.100', port: 80 } as const;

  test('a backend change is ipvsadm -R alone in the namespace, its name quoted', () => {
    const script = applyScript([{ netns: "odd'name", ops: [{ op: 'delete-real', service: service80, ip: '10.9.0.12', port: 8080 }] }], '/run/netns');
    expect(script).toContain(`ns='odd'\\''name'\nout=$(nsenter --net='/run/netns'/"$ns" -- ipvsadm -R 2>&1 <<'TRELLIS_IPVS_END'\n-d -t 10.9.0.100:80 -r 10.9.0.12:8080\nTRELLIS_IPVS_END\n)`);
    expect(script.match(/nsenter/g)).toHaveLength(1);
  });

  test('a new VIP: route, table and sysctl in one shell per namespace, in order, stopping at the first failure', () => {
    const script = applyScript(
      [{ netns: 'sb2', ops: [{ op: 'route-vip', route: { vip: '10.9.0.100', src: '10.9.0.11' } }, { op: 'add-service', service: service80, scheduler: 'rr' }, { op: 'expire-nodest-conn' }] }],
      '/run/netns',
    );
    expect(script).toContain(
      `-- sh -c 'set -e\nip -batch - <<'\\''TRELLIS_IPVS_END'\\''\nroute replace 10.9.0.100/32 dev lo proto 211 src 10.9.0.11\nTRELLIS_IPVS_END\nipvsadm -R <<'\\''TRELLIS_IPVS_END'\\''\n-A -t 10.9.0.100:80 -s rr\nTRELLIS_IPVS_END\necho 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn' 2>&1)`,
    );
  });
});
