/**
 * The nftables balancer against the real kernel, with real traffic: a client sandbox and three
 * backend sandboxes on a bridge, the client balancing a VIP over the backends. Needs root and
 * the conntrack CLI.
 */
import { ChildProcess } from 'node:child_process';
import { countingProcesses } from '../kernel';
import { buildLab, connections, inNetns, lab, openLongConnection, removeLab, ruleHandles, startBackend, tableExists, tally } from './kernel-test-lab';
import type { LbBackend, LbService, NamespaceBalancing } from './model';
import { LB_TABLE, createNftablesBalancer } from './nftables';

const balancer = createNftablesBalancer();
const PORT = 8080;
const VIP = '10.77.0.100';
const OTHER_VIP = '10.77.0.101';

const backends = (draining: string[] = [], gone: string[] = []): LbBackend[] =>
  lab.backends.filter((backend) => !gone.includes(backend.name)).map((backend) => ({ ip: backend.ip, accepting: !draining.includes(backend.name) }));

const web = (backendList: LbBackend[], tcpIdleTimeoutSeconds = 0): LbService => ({
  key: 'web/net1',
  vip: VIP,
  ports: [
    { protocol: 'tcp', port: 80, targetPort: PORT },
    { protocol: 'udp', port: 53, targetPort: PORT },
  ],
  backends: backendList,
  tcpIdleTimeoutSeconds,
  udpIdleTimeoutSeconds: 0,
});
const api: LbService = { key: 'api/net1', vip: OTHER_VIP, ports: [{ protocol: 'tcp', port: 81, targetPort: PORT }], backends: backends(), tcpIdleTimeoutSeconds: 0, udpIdleTimeoutSeconds: 0 };

const clientWith = (...services: LbService[]): NamespaceBalancing => ({ netns: lab.client.netns, services });
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
  for (const backend of lab.backends) servers.push(await startBackend(backend, PORT));
});

afterAll(async () => {
  for (const server of servers) server.kill();
  await removeLab();
});

describe('nftables balancer on a real kernel', () => {
  test('before any pass the VIP answers nothing', async () => {
    expect(await connections(lab.client.netns, 'tcp', VIP, 80, 1)).toEqual(['timeout']);
  });

  test('300 connections spread over the 3 backends (each 20-47%), and each backend sees the client\'s own address', async () => {
    const changes = await pass([clientWith(web(backends()), api), idle]);
    expect(changes.map((change) => [change.netns, change.kind])).toEqual([[lab.client.netns, 'rebuild']]);

    const answers = await connections(lab.client.netns, 'tcp', VIP, 80, 300);
    const counts = tally(answers);
    expect([...counts.keys()].sort()).toEqual(['b1', 'b2', 'b3']);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThanOrEqual(60);
      expect(count).toBeLessThanOrEqual(141);
    }
    expect(new Set(answers.map((answer) => answer.split(' ')[1]))).toEqual(new Set([lab.client.ip]));
    const udp = await connections(lab.client.netns, 'udp', VIP, 53, 5);
    expect(udp.every((answer) => /^b[123] 10\.77\.0\.10$/.test(answer))).toBe(true);
  });

  test('a second pass writes nothing; a sandbox with no services has no table', async () => {
    expect(await pass([clientWith(web(backends()), api), idle])).toEqual([]);
    expect(await tableExists(lab.idle.netns, LB_TABLE)).toBe(false);
    expect(await tableExists(lab.client.netns, LB_TABLE)).toBe(true);
  });

  test('a backend change rewrites only its own service\'s chains and elements', async () => {
    const before = await ruleHandles(lab.client.netns, LB_TABLE);
    const { result: [change], processes } = await countingProcesses(() => pass([clientWith(web(backends([], ['b3'])), api)]));
    // Read, written and its flows cleared in-process: no nsenter, nft or conntrack per namespace.
    expect(processes).toBe(0);
    expect(change?.kind).toBe('update');
    expect(change?.transaction).not.toMatch(/table|output|api/);
    const after = await ruleHandles(lab.client.netns, LB_TABLE);
    const rewritten = [...before].filter(([handle]) => !after.has(handle)).map(([, chain]) => chain);
    expect(new Set(rewritten).size).toBeGreaterThan(0);
    for (const chain of rewritten) expect(chain).toMatch(/web_net1-(tcp-80|udp-53)$/);

    const counts = tally(await connections(lab.client.netns, 'tcp', VIP, 80, 40));
    expect([...counts.keys()].sort()).toEqual(['b1', 'b2']);
    expect(tally(await connections(lab.client.netns, 'tcp', OTHER_VIP, 81, 40)).size).toBe(3);
    await pass([clientWith(web(backends()), api)]);
  });

  test('drift: a rule deleted by hand is found and repaired, and then the pass is quiet again', async () => {
    const listing = await inNetns(lab.client.netns, 'nft', '-a', 'list', 'chain', 'ip', LB_TABLE, 'output');
    const handle = /# handle (\d+)/.exec(listing.split('\n').find((line) => line.includes('vmap')) ?? '')?.[1];
    await inNetns(lab.client.netns, 'nft', 'delete', 'rule', 'ip', LB_TABLE, 'output', 'handle', handle ?? 'none');
    expect(await connections(lab.client.netns, 'tcp', VIP, 80, 1)).toEqual(['timeout']);

    const [repair] = await pass([clientWith(web(backends()), api)]);
    expect(repair?.kind).toBe('update');
    expect(repair?.transaction).toContain('vmap @services');
    expect(tally(await connections(lab.client.netns, 'tcp', VIP, 80, 30)).size).toBeGreaterThan(1);
    expect(await pass([clientWith(web(backends()), api)])).toEqual([]);
  });

  test('drain: an established connection to a draining backend keeps working, it gets no new one; once it leaves, its flows are cleared', async () => {
    // Open connections until one lands on b1.
    let held = openLongConnection(lab.client.netns, VIP, 80);
    for (let tries = 0; (await held.next()) !== `b1 ${lab.client.ip}` && tries < 50; tries += 1) {
      held.close();
      held = openLongConnection(lab.client.netns, VIP, 80);
    }
    try {
      held.send('before');
      expect(await held.next()).toBe('b1 before');

      await pass([clientWith(web(backends(['b1'])), api)]);
      const answers = await connections(lab.client.netns, 'tcp', VIP, 80, 60);
      expect([...tally(answers).keys()].sort()).toEqual(['b2', 'b3']);
      held.send('draining');
      expect(await held.next()).toBe('b1 draining');
      expect(await pass([clientWith(web(backends(['b1'])), api)])).toEqual([]);

      const [leave] = await pass([clientWith(web(backends([], ['b1'])), api)]);
      expect(leave?.clearFlows).toContainEqual({ vip: VIP, backend: lab.backends[0]?.ip });
      held.send('after');
      expect(await held.next()).toMatch(/^closed/);
    } finally {
      held.close();
      await pass([clientWith(web(backends()), api)]);
    }
  });

  test('a VIP with no accepting backend refuses at once instead of hanging', async () => {
    await pass([clientWith(web(backends(['b1', 'b2', 'b3'])), api)]);
    expect(await connections(lab.client.netns, 'tcp', VIP, 80, 1)).toEqual(['refused']);
    await pass([clientWith(web(backends()), api)]);
    expect(tally(await connections(lab.client.netns, 'tcp', VIP, 80, 10)).size).toBeGreaterThan(1);
  });

  test('a service\'s TCP idle timeout is its flows\' conntrack timeout', async () => {
    await pass([clientWith(web(backends(), 3600), api)]);
    const held = openLongConnection(lab.client.netns, VIP, 80);
    try {
      expect(await held.next()).toMatch(/^b[123] /);
      const flows = await inNetns(lab.client.netns, 'conntrack', '-L', '-p', 'tcp', '-d', VIP, '--state', 'ESTABLISHED');
      const timeout = Number(/^tcp\s+\d+\s+(\d+)/m.exec(flows)?.[1]);
      expect(timeout).toBeGreaterThan(3000);
      expect(timeout).toBeLessThanOrEqual(3600);
    } finally {
      held.close();
    }
    await pass([clientWith(web(backends()), api)]);
  });

  test('a sandbox whose services are all gone loses its table and the flows through it', async () => {
    const [removal] = await pass([clientWith()]);
    expect(removal?.kind).toBe('delete');
    expect(removal?.clearFlows).toContainEqual({ vip: VIP });
    expect(await tableExists(lab.client.netns, LB_TABLE)).toBe(false);
    expect(await pass([clientWith()])).toEqual([]);
  });
});
