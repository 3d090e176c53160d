/**
 * The IPVS engine against a real IPVS: runs inside user-mode-linux (scripts/uml/run-in-uml.sh;
 * ipvs.uml.test.ts bundles and boots it, then asserts on the report this prints as its last line).
 *
 * The guest's own namespace is the client sandbox, attached as `lbt-client` the way the agent
 * attaches adopted namespaces, so the connections this process makes are the sandbox's. The
 * bridge lives in its own namespace (as Trellis's network namespaces do); three backends and a
 * second client sandbox attached to nothing of the service hang off it.
 *
 *   lbt-client (this process) 10.77.0.2 ─┐
 *   lbt-other 10.77.0.3 ─────────────────┼─ lbt-net: bridge ─┬─ lbt-be1 10.77.0.11
 *                                                            ├─ lbt-be2 10.77.0.12
 *                                                            └─ lbt-be3 10.77.0.13
 * Each backend answers TCP :8080 with "NAME CLIENT-ADDRESS", then echoes lines; UDP :5353 the same once.
 */
import { connect, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { countingProcesses, processRunner } from '../kernel/command-runner';
import type { LbService, NamespaceBalancing } from './model';
import { detectIpvs, IpvsBalancer } from './ipvs-balancer';
import { describeOp } from './ipvs-render';
import { reportFromGuest } from '../uml-lane';

const VIP = '10.77.0.100';
/** A VIP of another owner's service in the client's namespace. */
const THEIR_VIP = '10.77.9.9';
const CLIENT = 'lbt-client';
const OTHER = 'lbt-other';
const BACKENDS = [
  { name: 'lbt-be1', ip: '10.77.0.11' },
  { name: 'lbt-be2', ip: '10.77.0.12' },
  { name: 'lbt-be3', ip: '10.77.0.13' },
];
const PYTHON = '/usr/bin/python3';
/** A backend that also calls the service. */
const SELF = 'lbt-be1';

const SERVER = `
import socketserver, sys, threading
name = sys.argv[1]
class Tcp(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(("%s %s\\n" % (name, self.client_address[0])).encode())
        for line in self.rfile:
            self.wfile.write(line)
class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        self.request[1].sendto(("%s %s\\n" % (name, self.client_address[0])).encode(), self.client_address)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
udp = socketserver.UDPServer(("0.0.0.0", 5353), Udp)
threading.Thread(target=udp.serve_forever, daemon=True).start()
socketserver.ThreadingTCPServer(("0.0.0.0", 8080), Tcp).serve_forever()
`;

/** One shell for the topology; the servers run on after it exits (the guest's end stops them). */
function topologyScript(): string {
  const links = [
    { ns: CLIENT, ip: '10.77.0.2' },
    { ns: OTHER, ip: '10.77.0.3' },
    ...BACKENDS.map((backend) => ({ ns: backend.name, ip: backend.ip })),
  ];
  return `set -e
ip netns add lbt-net
ip netns attach ${CLIENT} 1
ip -n lbt-net link add br0 type bridge
ip -n lbt-net link set br0 up
${links
  .map(
    ({ ns, ip }, index) => `${ns === CLIENT ? '' : `ip netns add ${ns}\n`}ip -n ${ns} link add eth0 type veth peer name p${index} netns lbt-net
ip -n lbt-net link set p${index} master br0 up
ip -n ${ns} addr add ${ip}/24 dev eth0
ip -n ${ns} link set eth0 up
ip -n ${ns} link set lo up`,
  )
  .join('\n')}
${BACKENDS.map((backend) => `nsenter --net=/run/netns/${backend.name} ${PYTHON} -c '${SERVER}' ${backend.name} </dev/null >/dev/null 2>&1 &`).join('\n')}
`;
}

function service(backends: { ip: string; accepting: boolean }[]): LbService {
  return {
    key: 'web/lbt',
    vip: VIP,
    ports: [
      { protocol: 'tcp', port: 80, targetPort: 8080 },
      { protocol: 'udp', port: 53, targetPort: 5353 },
    ],
    backends,
    tcpIdleTimeoutSeconds: 3600,
    udpIdleTimeoutSeconds: 600,
  };
}

/** The client balances the service; so does the first backend once `hairpin` (a task calling its own service). */
function desired(backends: { ip: string; accepting: boolean }[] | undefined, hairpin = false): NamespaceBalancing[] {
  return [
    { netns: CLIENT, services: backends === undefined ? [] : [service(backends)] },
    { netns: OTHER, services: [] },
    { netns: SELF, services: hairpin && backends !== undefined ? [service(backends)] : [] },
  ];
}

const balancer = new IpvsBalancer(processRunner);
const NAMESPACES = [CLIENT, OTHER, SELF];

/** One level-triggered pass: observe, plan, apply. Returns what it wrote, as `NETNS: PROGRAM LINE`. */
async function pass(want: NamespaceBalancing[]): Promise<string[]> {
  const changes = balancer.plan(want, await balancer.observe(NAMESPACES));
  await balancer.apply(changes);
  return changes.flatMap((change) => change.ops.map((op) => `${change.netns}: ${describeOp(op)}`));
}

/** A TCP connection whose lines can be awaited one at a time. */
class LineConnection {
  private buffer = '';
  private waiting: ((line: string | undefined) => void) | undefined;
  readonly socket: Socket;
  constructor(host: string, port: number) {
    this.socket = connect(port, host);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (data: string) => {
      this.buffer += data;
      this.deliver();
    });
    this.socket.on('error', () => this.settle(undefined));
    this.socket.on('close', () => this.settle(undefined));
  }
  /** The next line, or undefined if none comes within `ms` (or the connection ends). */
  next(ms: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(undefined), ms);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.deliver();
    });
  }
  private deliver(): void {
    const end = this.buffer.indexOf('\n');
    if (end < 0) return;
    const line = this.buffer.slice(0, end);
    this.buffer = this.buffer.slice(end + 1);
    this.settle(line);
  }
  private settle(line: string | undefined): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(line);
  }
}

/** The greeting of one new connection: "BACKEND CLIENT-ADDRESS", or undefined. */
async function greet(host: string, port: number): Promise<string | undefined> {
  const connection = new LineConnection(host, port);
  const line = await connection.next(5000);
  connection.socket.destroy();
  return line;
}

function udpGreet(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => finish(undefined), 3000);
    const finish = (line: string | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(line);
    };
    socket.on('message', (message) => finish(message.toString('utf8').trim()));
    socket.on('error', () => finish(undefined));
    socket.send('hello', port, host);
  });
}

/** How many of `count` new connections (made one after the other) each backend got, and the client addresses they saw. */
async function spread(count: number, greetOnce: () => Promise<string | undefined>): Promise<{ perBackend: Record<string, number>; clientAddresses: string[]; failed: number }> {
  const perBackend: Record<string, number> = Object.fromEntries(BACKENDS.map((backend) => [backend.name, 0]));
  const clientAddresses = new Set<string>();
  let failed = 0;
  for (let i = 0; i < count; i += 1) {
    const [name, address] = (await greetOnce())?.split(' ') ?? [];
    if (name === undefined || address === undefined) failed += 1;
    else {
      perBackend[name] = (perBackend[name] ?? 0) + 1;
      clientAddresses.add(address);
    }
  }
  return { perBackend, clientAddresses: [...clientAddresses], failed };
}

async function waitForBackends(): Promise<void> {
  for (const backend of BACKENDS) {
    for (let attempt = 0; ; attempt += 1) {
      if ((await greet(backend.ip, 8080)) !== undefined) break;
      if (attempt > 300) throw new Error(`backend ${backend.name} never listened`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function ipvsConnectionsTo(ip: string): Promise<number> {
  const table = await processRunner.run(['ipvsadm', '-Lnc']);
  return table.split('\n').filter((line) => line.includes(` ${ip}:`)).length;
}

async function main(): Promise<Record<string, unknown>> {
  await processRunner.run(['sh', '-c', topologyScript()]);
  await waitForBackends();
  const all = BACKENDS.map((backend) => ({ ip: backend.ip, accepting: true }));
  // Services of another owner (an adopted namespace's runtime, as Docker's fwmark services): never touched.
  await processRunner.run(['sh', '-c', `ipvsadm -A -t ${THEIR_VIP}:80 -s wlc && ipvsadm -A -f 7 -s rr`]);

  const firstPass = await pass(desired(all));
  // The second pass finds nothing to do and starts no process to write.
  const secondChanges = balancer.plan(desired(all), await balancer.observe(NAMESPACES));
  const secondApply = await countingProcesses(() => balancer.apply(secondChanges));
  const observed = await balancer.observe(NAMESPACES);

  const tcp = await spread(300, () => greet(VIP, 80));
  const udp = await spread(30, () => udpGreet(VIP, 53));

  // Drift: a real server deleted by hand comes back, a service edited by hand is edited back.
  await processRunner.run(['sh', '-c', `ipvsadm -d -t ${VIP}:80 -r ${BACKENDS[1]?.ip}:8080 && ipvsadm -E -u ${VIP}:53 -s wlc -p 60`]);
  const driftRepair = await pass(desired(all));
  const afterDrift = await pass(desired(all));

  // Drain: the backend of a long connection stops accepting; the connection keeps working.
  const long = new LineConnection(VIP, 80);
  const [drainedName] = ((await long.next(5000)) ?? '').split(' ');
  const drained = BACKENDS.find((backend) => backend.name === drainedName);
  if (drained === undefined) throw new Error(`the long connection got no greeting (${drainedName})`);
  const drain = await pass(desired(all.map((backend) => ({ ...backend, accepting: backend.ip !== drained.ip }))));
  long.socket.write('still-there\n');
  const echoWhileDraining = await long.next(5000);
  const duringDrain = await spread(30, () => greet(VIP, 80));

  // Gone: the backend leaves the list; its connection ends at its next packet (expire_nodest_conn).
  const removal = await pass(desired(all.filter((backend) => backend.ip !== drained.ip)));
  long.socket.write('after-removal\n');
  const echoAfterRemoval = await long.next(2000);
  const connectionsToRemoved = await ipvsConnectionsTo(drained.ip);
  long.socket.destroy();
  const afterRemoval = await spread(10, () => greet(VIP, 80));

  // A sandbox not attached to the service's network: nothing programmed there, the VIP does not answer.
  const otherReach = await processRunner
    .run(['nsenter', `--net=/run/netns/${OTHER}`, PYTHON, '-c', `import socket; socket.create_connection(("${VIP}", 80), timeout=2); print("connected")`])
    .then((out) => out.trim())
    .catch(() => 'refused-or-timed-out');

  // A backend calling its own service: the connections IPVS sends back to itself work too.
  const hairpin = await pass(desired(all, true));
  const hairpinReplies = (
    await processRunner.run(['nsenter', `--net=/run/netns/${SELF}`, PYTHON, '-c', `
import socket
for _ in range(6):
    try:
        s = socket.create_connection(("${VIP}", 80), timeout=3)
        print(s.makefile().readline().strip())
        s.close()
    except Exception as e:
        print("failed", e)
`])
  )
    .trim()
    .split('\n');

  // No services left: the engine removes its virtual services and routes, and only its own.
  const cleanup = await pass(desired(undefined));
  const afterCleanup = await balancer.observe(NAMESPACES);
  const tableAfterCleanup = (await processRunner.run(['ipvsadm', '-Sn'])).trim().split('\n');

  return {
    detectIpvs: await detectIpvs(processRunner),
    firstPass,
    secondPass: { changes: secondChanges.length, applyProcesses: secondApply.processes },
    observedClient: observed.get(CLIENT),
    observedOther: observed.get(OTHER),
    tcp,
    udp,
    driftRepair,
    afterDrift,
    drained: drained.name,
    drain,
    echoWhileDraining,
    duringDrain,
    removal,
    echoAfterRemoval: echoAfterRemoval ?? null,
    connectionsToRemoved,
    afterRemoval,
    otherReach,
    hairpin,
    hairpinReplies,
    cleanup,
    routesAfterCleanup: NAMESPACES.map((name) => afterCleanup.get(name)?.vipRoutes.length ?? 0),
    servicesAfterCleanup: NAMESPACES.map((name) => afterCleanup.get(name)?.services.length ?? 0),
    tableAfterCleanup,
  };
}

reportFromGuest('ipvs-uml-lab', main);
