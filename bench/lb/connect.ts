import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LbService, NamespaceBalancing } from '../../agent/lb/model';
import { NftablesBalancer } from '../../agent/lb/nftables';
import { assertReachable, startIperfServer, tcpGbps } from '../dataplane/iperf';
import { createHostPair, execIn, ipIn, UPLINK, type BenchHost } from '../netns/hosts';
import type { Teardown } from '../netns/teardown';
import { startProcess, stopProcess, waitFor } from '../raft/processes';
import { percentile } from '../stats';

/** Connects and throughput through a VIP in the client's namespace to a backend on a veth. */

const CONNECT_PORT = 7000;
const IPERF_PORT = 5201;
/** VIPs live here; the client routes the range on-link so the first packet leaves before NAT picks the backend. */
const VIP_RANGE = '10.203.0.0/16';
const vipOf = (index: number): string => `10.203.${Math.floor(index / 256)}.${index % 256}`;

/** Accepts and closes: the handshake is what is measured. */
const ACCEPTOR = `require('net').createServer((socket) => socket.destroy()).listen(${CONNECT_PORT}, '0.0.0.0', () => console.log('listening'));`;

/** `count` connects one after another, timed from connect() to the handshake's end; prints their times in ms. */
const CONNECTS = `
const [host, count] = process.argv.slice(1);
const net = require('net');
const once = () => new Promise((resolve, reject) => {
  const started = process.hrtime.bigint();
  const socket = net.connect(${CONNECT_PORT}, host);
  socket.on('connect', () => { resolve(Number(process.hrtime.bigint() - started) / 1e6); socket.destroy(); });
  socket.on('error', reject);
});
(async () => {
  const times = [];
  for (let i = 0; i < Number(count); i++) times.push(await once());
  console.log(JSON.stringify(times));
})().catch((error) => { console.error(error.message); process.exit(1); });`;

export interface Pair {
  client: BenchHost;
  backend: BenchHost;
}

export async function createPair(tag: string, teardown: Teardown): Promise<Pair> {
  const [client, backend] = await createHostPair(tag, teardown);
  await ipIn(client.netns, 'route', 'add', VIP_RANGE, 'dev', UPLINK);
  const logDir = mkdtempSync(join(tmpdir(), 'trbn-lb-'));
  teardown.add(`removing ${logDir}`, async () => rmSync(logDir, { recursive: true, force: true }));
  const acceptor = startProcess(`acceptor in ${backend.netns}`, 'ip', ['netns', 'exec', backend.netns, 'node', '-e', ACCEPTOR], join(logDir, 'acceptor.log'));
  teardown.add(`stopping ${acceptor.name}`, () => stopProcess(acceptor));
  await waitFor('the acceptor to listen', async () => (readFileSync(acceptor.logFile, 'utf8').includes('listening') ? true : undefined), 10_000);
  await startIperfServer({ netns: backend.netns, address: backend.address }, logDir, teardown);
  await assertReachable(client.netns, { netns: backend.netns, address: backend.address });
  return { client, backend };
}

/** `count` services, each its own VIP with the connect and iperf3 ports, all to the one backend. */
function services(pair: Pair, count: number): NamespaceBalancing {
  const list: LbService[] = Array.from({ length: count }, (_, index) => ({
    key: `bench-${index}`,
    vip: vipOf(index),
    ports: [
      { protocol: 'tcp', port: CONNECT_PORT, targetPort: CONNECT_PORT },
      { protocol: 'tcp', port: IPERF_PORT, targetPort: IPERF_PORT },
    ],
    backends: [{ ip: pair.backend.address, accepting: true }],
    tcpIdleTimeoutSeconds: 0,
    udpIdleTimeoutSeconds: 0,
  }));
  return { netns: pair.client.netns, services: list };
}

/** Programs `count` services in the client's namespace (a level-triggered pass); the VIP measured is the last one's. */
export async function programServices(pair: Pair, count: number): Promise<string> {
  const balancer = new NftablesBalancer();
  const desired = [services(pair, count)];
  await balancer.apply(balancer.plan(desired, await balancer.observe([pair.client.netns])));
  return vipOf(count - 1);
}

/** Median connect time in ms over `count` connects to `host` (after a few unmeasured ones). */
export async function connectMs(pair: Pair, host: string, count: number): Promise<number> {
  await execIn(pair.client.netns, ['node', '-e', CONNECTS, host, '20']);
  const times = JSON.parse(await execIn(pair.client.netns, ['node', '-e', CONNECTS, host, String(count)])) as number[];
  return percentile(times, 50);
}

export function gbps(pair: Pair, host: string, seconds: number): Promise<number> {
  return tcpGbps(pair.client.netns, { netns: pair.backend.netns, address: host }, seconds);
}
