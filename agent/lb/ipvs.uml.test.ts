/**
 * The IPVS test lane: this host's kernel may have no IPVS, so the engine runs against the IPVS of
 * a user-mode-linux guest (scripts/uml/run-in-uml.sh). One boot runs every check of
 * ipvs-uml-lab.ts; the assertions are here. Needs root (the guest's root is the host's
 * filesystem, and the packages scripts/setup.sh --test installs): without root it is skipped,
 * saying so; as root a guest that cannot boot fails the test with the runner's output.
 */
import { join } from 'node:path';
import { CAN_BOOT_UML, runLabInUml } from '../uml-lane';

const lane = CAN_BOOT_UML ? describe : describe.skip;
if (!CAN_BOOT_UML) console.warn('ipvs.uml.test.ts skipped: the IPVS lane boots user-mode-linux, which needs root (CI runs it as root)');

interface Spread {
  perBackend: Record<string, number>;
  clientAddresses: string[];
  failed: number;
}

interface Report {
  detectIpvs: boolean;
  firstPass: string[];
  secondPass: { changes: number; applyProcesses: number };
  observedClient: { timeouts: { tcp: number; udp: number }; expireNodestConn: boolean; vipRoutes: { vip: string; src: string }[] };
  observedOther: { services: unknown[] };
  tcp: Spread;
  udp: Spread;
  driftRepair: string[];
  afterDrift: string[];
  drained: string;
  drain: string[];
  echoWhileDraining: string | null;
  duringDrain: Spread;
  removal: string[];
  echoAfterRemoval: string | null;
  connectionsToRemoved: number;
  afterRemoval: Spread;
  otherReach: string;
  hairpin: string[];
  hairpinReplies: string[];
  cleanup: string[];
  routesAfterCleanup: number[];
  servicesAfterCleanup: number[];
  tableAfterCleanup: string[];
}

const BACKEND_IPS: Record<string, string> = { 'lbt-be1': '10.77.0.11', 'lbt-be2': '10.77.0.12', 'lbt-be3': '10.77.0.13' };

lane('IPVS engine inside user-mode-linux', () => {
  let report: Report;

  beforeAll(async () => {
    report = (await runLabInUml(join(__dirname, 'ipvs-uml-lab.ts'), 'IPVS')) as Report;
  }, 660_000);

  test('the first pass programs one virtual service per VIP port, the VIP route, the backends in NAT mode, the timeouts and expire_nodest_conn, in the client sandbox only', () => {
    expect(report.firstPass).toEqual([
      'lbt-client: ip route replace 10.77.0.100/32 dev lo proto 211 src 10.77.0.2',
      'lbt-client: ipvsadm -A -t 10.77.0.100:80 -s rr',
      'lbt-client: ipvsadm -a -t 10.77.0.100:80 -r 10.77.0.11:8080 -m -w 1',
      'lbt-client: ipvsadm -a -t 10.77.0.100:80 -r 10.77.0.12:8080 -m -w 1',
      'lbt-client: ipvsadm -a -t 10.77.0.100:80 -r 10.77.0.13:8080 -m -w 1',
      'lbt-client: ipvsadm -A -u 10.77.0.100:53 -s rr',
      'lbt-client: ipvsadm -a -u 10.77.0.100:53 -r 10.77.0.11:5353 -m -w 1',
      'lbt-client: ipvsadm -a -u 10.77.0.100:53 -r 10.77.0.12:5353 -m -w 1',
      'lbt-client: ipvsadm -a -u 10.77.0.100:53 -r 10.77.0.13:5353 -m -w 1',
      'lbt-client: ipvsadm --set 3600 120 600',
      'lbt-client: sysctl net.ipv4.vs.expire_nodest_conn=1',
    ]);
    expect(report.observedClient.timeouts).toEqual({ tcp: 3600, tcpFin: 120, udp: 600 });
    expect(report.observedClient.expireNodestConn).toBe(true);
    expect(report.observedClient.vipRoutes).toEqual([{ vip: '10.77.0.100', src: '10.77.0.2' }]);
  });

  test('detectIpvs finds the guest kernel\'s IPVS', () => {
    expect(report.detectIpvs).toBe(true);
  });

  test('a second pass plans nothing and writes nothing', () => {
    expect(report.secondPass).toEqual({ changes: 0, applyProcesses: 0 });
  });

  test('300 TCP connections to the VIP spread over the 3 backends (20%-47% each), and each backend sees the client\'s own address', () => {
    expect(report.tcp.failed).toBe(0);
    for (const count of Object.values(report.tcp.perBackend)) {
      expect(count).toBeGreaterThanOrEqual(60);
      expect(count).toBeLessThanOrEqual(141);
    }
    expect(report.tcp.clientAddresses).toEqual(['10.77.0.2']);
  });

  test('UDP through the VIP reaches every backend, and each sees the client\'s own address', () => {
    expect(report.udp.failed).toBe(0);
    expect(Object.values(report.udp.perBackend).every((count) => count > 0)).toBe(true);
    expect(report.udp.clientAddresses).toEqual(['10.77.0.2']);
  });

  test('drift is repaired by the next pass, op by op: a real server deleted by hand, a service edited by hand', () => {
    expect(report.driftRepair).toEqual(['lbt-client: ipvsadm -a -t 10.77.0.100:80 -r 10.77.0.12:8080 -m -w 1', 'lbt-client: ipvsadm -E -u 10.77.0.100:53 -s rr']);
    expect(report.afterDrift).toEqual([]);
  });

  test('drain is weight 0: the established connection keeps working, new connections avoid the backend', () => {
    const ip = BACKEND_IPS[report.drained];
    expect(report.drain).toEqual([`lbt-client: ipvsadm -e -t 10.77.0.100:80 -r ${ip}:8080 -m -w 0`, `lbt-client: ipvsadm -e -u 10.77.0.100:53 -r ${ip}:5353 -m -w 0`]);
    expect(report.echoWhileDraining).toBe('still-there');
    expect(report.duringDrain.failed).toBe(0);
    expect(report.duringDrain.perBackend[report.drained]).toBe(0);
    expect(Object.values(report.duringDrain.perBackend).reduce((sum, count) => sum + count, 0)).toBe(30);
  });

  test('a backend that leaves is deleted and its connections end', () => {
    const ip = BACKEND_IPS[report.drained];
    expect(report.removal).toEqual([`lbt-client: ipvsadm -d -t 10.77.0.100:80 -r ${ip}:8080`, `lbt-client: ipvsadm -d -u 10.77.0.100:53 -r ${ip}:5353`]);
    expect(report.echoAfterRemoval).toBeNull();
    expect(report.connectionsToRemoved).toBe(0);
    expect(report.afterRemoval.failed).toBe(0);
    expect(report.afterRemoval.perBackend[report.drained]).toBe(0);
  });

  test('a sandbox with no service of the network holds no virtual service and cannot reach the VIP', () => {
    expect(report.observedOther.services).toEqual([]);
    expect(report.otherReach).toBe('refused-or-timed-out');
  });

  test('a backend calling its own service reaches every backend, itself included, under its own address', () => {
    expect(report.hairpin).toEqual(expect.arrayContaining(['lbt-be1: ip route replace 10.77.0.100/32 dev lo proto 211 src 10.77.0.11']));
    expect(report.hairpinReplies).toHaveLength(6);
    expect(report.hairpinReplies.filter((reply) => reply.endsWith(' 10.77.0.11'))).toHaveLength(6);
    expect(new Set(report.hairpinReplies.map((reply) => reply.split(' ')[0]))).toEqual(new Set(['lbt-be1', 'lbt-be2', 'lbt-be3']));
  });

  test('with no services left the namespaces hold none of the engine\'s virtual services or routes', () => {
    expect(report.cleanup).toEqual(
      expect.arrayContaining(['lbt-client: ipvsadm -D -t 10.77.0.100:80', 'lbt-client: ipvsadm -D -u 10.77.0.100:53', 'lbt-client: ip route del 10.77.0.100/32 dev lo proto 211', 'lbt-be1: ip route del 10.77.0.100/32 dev lo proto 211']),
    );
    expect(report.routesAfterCleanup).toEqual([0, 0, 0]);
    expect(report.servicesAfterCleanup).toEqual([1, 0, 0]);
  });

  test('services of another owner in a sandbox (an adopted namespace\'s own runtime) are never touched', () => {
    expect([...report.firstPass, ...report.driftRepair, ...report.cleanup].filter((line) => line.includes('10.77.9.9') || line.includes('-f 7'))).toEqual([]);
    expect(report.tableAfterCleanup).toEqual(['-A -t 10.77.9.9:80 -s wlc', '-A -f 7 -s rr']);
  });
});
