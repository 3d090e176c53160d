/**
 * The nftables balancer against the real kernel, with real traffic: a client sandbox and three
 * backend sandboxes on a bridge, the client balancing a VIP over the backends. Needs root and
 * the conntrack CLI.
 */
import { ChildProcess } from 'node:child_process';
import { countingProcesses } from '../kernel';
import { pings } from '../reconcile/kernel-test-support';
import { buildLab, connections, inNetns, lab, openLongConnection, removeLab, ruleHandles, startBackend, tableExists, tally } from './kernel-test-lab';
import type { LbBackend, LbService, NamespaceBalancing } from './model';
import { LB_TABLE, createNftablesBalancer } from './nftables';

const balancer = createNftablesBalancer();
/** The port web and api declare; the backends also listen on two ports no service declares. */
const PORT = 8080;
const UNDECLARED = [5432, 40123];
const VIP = '10.77.0.100';
const OTHER_VIP = '10.77.0.101';
const DB_VIP = '10.77.0.102';

const backends = (draining: string[] = [], gone: string[] = []): LbBackend[] =>
  lab.backends.filter((backend) => !gone.includes(backend.name)).map((backend) => ({ ip: backend.ip, accepting: !draining.includes(backend.name) }));

const web = (backendList: LbBackend[], tcpIdleTimeoutSeconds = 0): LbService => ({
  key: 'web/net1',
  vip: VIP,
  ports: [
    { protocol: 'tcp', port: PORT, targetPort: PORT },
    { protocol: 'udp', port: PORT, targetPort: PORT },
  ],
  backends: backendList,
  tcpIdleTimeoutSeconds,
  udpIdleTimeoutSeconds: 0,
});
const api: LbService = { key: 'api/net1', vip: OTHER_VIP, ports: [{ protocol: 'tcp', port: PORT, targetPort: PORT }], backends: backends(), tcpIdleTimeoutSeconds: 0, udpIdleTimeoutSeconds: 0 };
/** Created without --publish, as most services are: clients call DB_VIP on whatever port the backends serve. */
const db = (backendList: LbBackend[] = backends()): LbService => ({ key: 'db/net1', vip: DB_VIP, ports: [], backends: backendList, tcpIdleTimeoutSeconds: 0, udpIdleTimeoutSeconds: 0 });

const clientWith = (...services: LbService[]): NamespaceBalancing => ({ netns: lab.client.netns, services });
/** The client with web (as given), api and db. */
const calling = (webService: LbService): NamespaceBalancing => clientWith(webService, api, db());
const idle: NamespaceBalancing = { netns: lab.idle.netns, services: [] };

/** One level-triggered pass, as the agent runs it: the changes it applied. */
async function pass(desired: NamespaceBalancing[]): Promise<ReturnType<typeof balancer.plan>> {
  const observed = await balancer.observe(desired.map((balancing) => balancing.netns));
  const changes = balancer.plan(desired, observed);
  await balancer.apply(changes);
  return changes;
}

const servers: ChildProcess[] = [];

beforeAll(async () => {
  await removeLab();
  await buildLab();
  for (const backend of lab.backends) servers.push(await startBackend(backend, PORT, ...UNDECLARED));
});

afterAll(async () => {
  for (const server of servers) server.kill();
  await removeLab();
});

describe('nftables balancer on a real kernel', () => {
  test('before any pass the VIP answers nothing', async () => {
    expect(await connections(lab.client.netns, 'tcp', VIP, PORT, 1)).toEqual(['timeout']);
  });

  test('300 connections spread over the 3 backends (each 20-47%), and each backend sees the client\'s own address', async () => {
    const changes = await pass([calling(web(backends())), idle]);
    expect(changes.map((change) => [change.netns, change.kind])).toEqual([[lab.client.netns, 'rebuild']]);

    const answers = await connections(lab.client.netns, 'tcp', VIP, PORT, 300);
    const counts = tally(answers);
    expect([...counts.keys()].sort()).toEqual(['b1', 'b2', 'b3']);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThanOrEqual(60);
      expect(count).toBeLessThanOrEqual(141);
    }
    expect(new Set(answers.map((answer) => answer.split(' ')[1]))).toEqual(new Set([lab.client.ip]));
    const udp = await connections(lab.client.netns, 'udp', VIP, PORT, 5);
    expect(udp.every((answer) => answer.match(/^b[123] (\S+) (\d+)$/)?.slice(1).join(' ') === `${lab.client.ip} ${PORT}`)).toBe(true);
  });

  test('a second pass writes nothing; a sandbox with no services has no table', async () => {
    expect(await pass([calling(web(backends())), idle])).toEqual([]);
    expect(await tableExists(lab.idle.netns, LB_TABLE)).toBe(false);
    expect(await tableExists(lab.client.netns, LB_TABLE)).toBe(true);
  });

  test('a VIP whose service declares no port takes every TCP and UDP port, each to that port of a backend, which sees the client\'s address', async () => {
    for (const port of UNDECLARED) {
      for (const protocol of ['tcp', 'udp'] as const) {
        const answers = await connections(lab.client.netns, protocol, DB_VIP, port, 12);
        expect(answers.map((answer) => answer.replace(/^b[123] /, ''))).toEqual(answers.map(() => `${lab.client.ip} ${port}`));
        expect(tally(answers).size).toBeGreaterThan(1);
      }
    }
    // A port no backend serves is refused by the backend itself, not left hanging.
    expect(await connections(lab.client.netns, 'tcp', DB_VIP, 7, 1)).toEqual(['refused']);
  });

  test('a ping to a VIP is answered by one of its backends', async () => {
    expect(await pings(lab.client.netns, DB_VIP)).toBe(true);
    const flows = await inNetns(lab.client.netns, 'conntrack', '-L', '-p', 'icmp', '-d', DB_VIP);
    expect(flows).toMatch(/src=10\.77\.0\.1[123] dst=10\.77\.0\.10 /);
  });

  test('a backend change rewrites only its own service\'s chains and elements', async () => {
    const before = await ruleHandles(lab.client.netns, LB_TABLE);
    const { result: [change], processes } = await countingProcesses(() => pass([calling(web(backends([], ['b3'])))]));
    // Read, written and its flows cleared in-process: no nsenter, nft or conntrack per namespace.
    expect(processes).toBe(0);
    expect(change?.kind).toBe('update');
    expect(change?.transaction).not.toMatch(/table|output|api|db_net1/);
    const after = await ruleHandles(lab.client.netns, LB_TABLE);
    const rewritten = [...before].filter(([handle]) => !after.has(handle)).map(([, chain]) => chain);
    expect(new Set(rewritten).size).toBeGreaterThan(0);
    for (const chain of rewritten) expect(chain).toMatch(/web_net1-vip$/);

    const counts = tally(await connections(lab.client.netns, 'tcp', VIP, PORT, 40));
    expect([...counts.keys()].sort()).toEqual(['b1', 'b2']);
    expect(tally(await connections(lab.client.netns, 'tcp', OTHER_VIP, PORT, 40)).size).toBe(3);
    await pass([calling(web(backends()))]);
  });

  test('drift: a rule deleted by hand is found and repaired, and then the pass is quiet again', async () => {
    const listing = await inNetns(lab.client.netns, 'nft', '-a', 'list', 'chain', 'ip', LB_TABLE, 'output');
    const handle = /# handle (\d+)/.exec(listing.split('\n').find((line) => line.includes('vmap')) ?? '')?.[1];
    await inNetns(lab.client.netns, 'nft', 'delete', 'rule', 'ip', LB_TABLE, 'output', 'handle', handle ?? 'none');
    expect(await connections(lab.client.netns, 'tcp', VIP, PORT, 1)).toEqual(['timeout']);

    const [repair] = await pass([calling(web(backends()))]);
    expect(repair?.kind).toBe('update');
    expect(repair?.transaction).toContain('vmap @services');
    expect(tally(await connections(lab.client.netns, 'tcp', VIP, PORT, 30)).size).toBeGreaterThan(1);
    expect(await pass([calling(web(backends()))])).toEqual([]);
  });

  test('drain: an established connection to a draining backend keeps working, it gets no new one; once it leaves, its flows are cleared', async () => {
    // Open connections until one lands on b1.
    let held = openLongConnection(lab.client.netns, VIP, PORT);
    for (let tries = 0; (await held.next()) !== `b1 ${lab.client.ip} ${PORT}` && tries < 50; tries += 1) {
      held.close();
      held = openLongConnection(lab.client.netns, VIP, PORT);
    }
    try {
      held.send('before');
      expect(await held.next()).toBe('b1 before');

      await pass([calling(web(backends(['b1'])))]);
      const answers = await connections(lab.client.netns, 'tcp', VIP, PORT, 60);
      expect([...tally(answers).keys()].sort()).toEqual(['b2', 'b3']);
      held.send('draining');
      expect(await held.next()).toBe('b1 draining');
      expect(await pass([calling(web(backends(['b1'])))])).toEqual([]);

      const [leave] = await pass([calling(web(backends([], ['b1'])))]);
      expect(leave?.clearFlows).toContainEqual({ vip: VIP, backend: lab.backends[0]?.ip });
      held.send('after');
      expect(await held.next()).toMatch(/^closed/);
    } finally {
      held.close();
      await pass([calling(web(backends()))]);
    }
  });

  test('a VIP with no accepting backend refuses at once instead of hanging', async () => {
    await pass([calling(web(backends(['b1', 'b2', 'b3'])))]);
    expect(await connections(lab.client.netns, 'tcp', VIP, PORT, 1)).toEqual(['refused']);
    await pass([calling(web(backends()))]);
    expect(tally(await connections(lab.client.netns, 'tcp', VIP, PORT, 10)).size).toBeGreaterThan(1);
  });

  test('a service\'s TCP idle timeout is its flows\' conntrack timeout', async () => {
    await pass([calling(web(backends(), 3600))]);
    const held = openLongConnection(lab.client.netns, VIP, PORT);
    try {
      expect(await held.next()).toMatch(/^b[123] /);
      const flows = await inNetns(lab.client.netns, 'conntrack', '-L', '-p', 'tcp', '-d', VIP, '--state', 'ESTABLISHED');
      const timeout = Number(/^tcp\s+\d+\s+(\d+)/m.exec(flows)?.[1]);
      expect(timeout).toBeGreaterThan(3000);
      expect(timeout).toBeLessThanOrEqual(3600);
    } finally {
      held.close();
    }
    await pass([calling(web(backends()))]);
  });

  test('a sandbox whose services are all gone loses its table and the flows through it', async () => {
    const [removal] = await pass([clientWith()]);
    expect(removal?.kind).toBe('delete');
    expect(removal?.clearFlows).toContainEqual({ vip: VIP });
    expect(await tableExists(lab.client.netns, LB_TABLE)).toBe(false);
    expect(await pass([clientWith()])).toEqual([]);
  });
});
