import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import type { Asker, DnsMetrics, DnsResult, DnsTransport, Resolver, ResolverOptions, Upstream, UpstreamExchange } from './model';
import { createResolver } from './responder';
import { BOTH, CLI, endpoint, ENDPOINTS, FRONT, READY, service, testView } from './test-views';
import { silentUpstream, TestUpstream, type UpstreamHandler } from './test-upstreams';

const TIMEOUT_MS = 300;

function question(name: string, type: dnsPacket.RecordType = 'A', extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

async function ask(resolver: Resolver, message: Buffer, asker: Asker = CLI, transport: DnsTransport = 'udp'): Promise<DecodedPacket & { rcode?: string }> {
  const reply = await resolver.respond(message, asker, transport);
  if (reply === undefined) throw new Error('no reply');
  return dnsPacket.decode(reply);
}

function answered(options: Partial<ResolverOptions> = {}): Resolver {
  const resolver = createResolver({ hostResolvers: [], upstreamTimeoutMs: TIMEOUT_MS, ...options });
  resolver.update(testView(), READY);
  return resolver;
}

function recordingMetrics(): DnsMetrics & { queries: [string, DnsResult][]; failures: string[] } {
  const queries: [string, DnsResult][] = [];
  const failures: string[] = [];
  return { queries, failures, query: (type, result) => queries.push([type, result]), upstreamFailure: (upstream) => failures.push(upstream) };
}

/** An upstream exchange that answers every query empty and records whom it was sent to. */
function recordingExchange(): { asked: Upstream[]; exchange: UpstreamExchange } {
  const asked: Upstream[] = [];
  const exchange: UpstreamExchange = {
    exchange: async (query, target) => {
      asked.push(target);
      return dnsPacket.encode({ type: 'response', id: dnsPacket.decode(query).id, questions: dnsPacket.decode(query).questions });
    },
  };
  return { asked, exchange };
}

const dataOf = (reply: DecodedPacket): unknown[] => (reply.answers ?? []).map((answer) => ('data' in answer ? answer.data : undefined));

describe('the resolver, answering cluster names', () => {
  it('answers a cluster name with its id, RD copied, RA and AA set, and a short TTL', async () => {
    const metrics = recordingMetrics();
    const reply = await ask(answered({ metrics }), question('DB.'));
    expect(reply).toMatchObject({ id: 4242, type: 'response', rcode: 'NOERROR', flag_aa: true, flag_rd: true, flag_ra: true, flag_tc: false });
    expect(reply.questions).toEqual([{ name: 'DB', type: 'A', class: 'IN' }]);
    expect(reply.answers).toEqual([{ name: 'DB', type: 'A', class: 'IN', ttl: 5, flush: false, data: '10.231.1.10' }]);
    expect(metrics.queries).toEqual([['A', 'answer']]);
  });

  it('answers AAAA of a name that exists with no records (NOERROR), and an unknown single label with NXDOMAIN', async () => {
    const resolver = answered();
    const aaaa = await ask(resolver, question('db', 'AAAA'));
    expect(aaaa).toMatchObject({ rcode: 'NOERROR', flag_aa: true, answers: [] });
    expect(await ask(resolver, question('nothing'))).toMatchObject({ id: 4242, rcode: 'NXDOMAIN', flag_aa: true, answers: [] });
    expect(await ask(resolver, question('db'), { netnsName: 'trsb-loner' })).toMatchObject({ rcode: 'NXDOMAIN' });
  });

  it('answers PTR for an overlay address the asker sees', async () => {
    const reply = await ask(answered(), question('10.1.231.10.in-addr.arpa', 'PTR'));
    expect(dataOf(reply)).toEqual(['db']);
  });

  it('shuffles the backends of a dnsrr service', async () => {
    const backends = Array.from({ length: 6 }, (_, index) => endpoint(`w${index}`, { sandboxName: `w${index}`, ip: `10.231.1.${60 + index}`, serviceId: 'svc-w' }));
    const resolver = createResolver({ hostResolvers: [], upstreamTimeoutMs: TIMEOUT_MS });
    resolver.update(testView({ endpoints: [...testView().endpoints, ...backends], services: [service('svc-w', 'w', 'dnsrr')] }), new Set([...READY, ...backends.map((backend) => backend.id)]));
    const orders = new Set<string>();
    for (let round = 0; round < 30; round += 1) {
      const data = dataOf(await ask(resolver, question('w')));
      expect([...data].sort()).toEqual(backends.map((backend) => backend.ip));
      orders.add(data.join(','));
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('truncates tasks.SERVICE with 100 backends over UDP, so the client retries over TCP and gets all 100', async () => {
    const backends = Array.from({ length: 100 }, (_, index) => endpoint(`b${index}`, { sandboxName: `b${index}`, ip: `10.231.1.${100 + index}`, serviceId: 'svc-big' }));
    const resolver = createResolver({ hostResolvers: [], upstreamTimeoutMs: TIMEOUT_MS });
    const big = service('svc-big', 'big', 'vip', [{ networkId: FRONT.id, ip: '10.231.1.99' }]);
    resolver.update(testView({ endpoints: [...testView().endpoints, ...backends], services: [big] }), new Set([...READY, ...backends.map((backend) => backend.id)]));
    const asker = CLI;

    const udpRaw = await resolver.respond(question('tasks.big'), asker, 'udp');
    expect(udpRaw?.length).toBeLessThanOrEqual(512);
    const udp = dnsPacket.decode(udpRaw ?? Buffer.alloc(0));
    expect(udp.flag_tc).toBe(true);
    expect((udp.answers ?? []).length).toBeLessThan(100);

    const tcp = await ask(resolver, question('tasks.big'), asker, 'tcp');
    expect(tcp.flag_tc).toBe(false);
    expect(new Set(dataOf(tcp))).toEqual(new Set(backends.map((backend) => backend.ip)));

    const edns = await ask(resolver, question('tasks.big', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] }), asker, 'udp');
    expect(edns.flag_tc).toBe(false);
    expect(dataOf(edns)).toHaveLength(100);
    expect(edns.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 4096 })]);
  });

  it('answers garbage with FORMERR, another opcode with REFUSED, and neither a reply nor a runt', async () => {
    const metrics = recordingMetrics();
    const resolver = answered({ metrics });
    const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01]), Buffer.alloc(6), Buffer.from([0x3f, 0x61])]);
    expect(await ask(resolver, garbage)).toMatchObject({ id: 0x1234, rcode: 'FORMERR', type: 'response' });
    expect(await ask(resolver, dnsPacket.encode({ type: 'query', id: 7, flags: 2 << 11, questions: [{ name: 'db', type: 'A' }] }))).toMatchObject({ id: 7, rcode: 'REFUSED' });
    expect(await ask(resolver, dnsPacket.encode({ type: 'query', id: 8, questions: [] }))).toMatchObject({ id: 8, rcode: 'FORMERR' });
    expect(await resolver.respond(Buffer.from([1, 2, 3]), CLI, 'udp')).toBeUndefined();
    expect(await resolver.respond(dnsPacket.encode({ type: 'response', id: 9, questions: [{ name: 'db', type: 'A' }] }), CLI, 'udp')).toBeUndefined();
    expect(metrics.queries).toEqual([['other', 'formerr'], ['A', 'refused'], ['other', 'formerr']]);
  });

  it('answers SERVFAIL until it has a view: it cannot tell the cluster names yet', async () => {
    const resolver = createResolver({ hostResolvers: [], upstreamTimeoutMs: TIMEOUT_MS });
    expect(await ask(resolver, question('db'))).toMatchObject({ rcode: 'SERVFAIL' });
  });
});

describe('the resolver, forwarding', () => {
  const upstreams: { stop(): unknown }[] = [];
  afterEach(async () => {
    await Promise.all(upstreams.splice(0).map((upstream) => upstream.stop()));
  });
  const example: UpstreamHandler = (query) => ({ answers: [{ name: query.questions?.[0]?.name ?? '', type: 'A', ttl: 60, data: '192.0.2.7' }] });
  async function upstream(handler: UpstreamHandler = example): Promise<TestUpstream> {
    const started = await TestUpstream.start(handler);
    upstreams.push(started);
    return started;
  }

  it("passes an upstream's answer through with the client's id, over UDP and over TCP", async () => {
    const server = await upstream();
    const resolver = answered({ hostResolvers: [server.address] });
    for (const transport of ['udp', 'tcp'] as const) {
      const reply = await ask(resolver, question('example.com'), CLI, transport);
      expect(reply).toMatchObject({ id: 4242, rcode: 'NOERROR', flag_aa: false });
      expect(dataOf(reply)).toEqual(['192.0.2.7']);
    }
    expect(server.queries.map(({ query, transport }) => [query.id, query.questions?.[0]?.name, transport])).toEqual([
      [4242, 'example.com', 'udp'],
      [4242, 'example.com', 'tcp'],
    ]);
  });

  it('gives SERVFAIL, not a hang, when the upstream never answers, and tries the next one first', async () => {
    const dead = await silentUpstream();
    upstreams.push(dead);
    const metrics = recordingMetrics();
    const lonely = answered({ hostResolvers: [dead.address], metrics });
    expect(await ask(lonely, question('example.com'))).toMatchObject({ id: 4242, rcode: 'SERVFAIL' });
    expect(metrics.failures).toEqual([dead.address]);
    expect(metrics.queries).toEqual([['A', 'servfail']]);

    const live = await upstream();
    const failover = answered({ hostResolvers: [dead.address, live.address] });
    expect(dataOf(await ask(failover, question('example.com')))).toEqual(['192.0.2.7']);
  });

  it('gives SERVFAIL over TCP when the upstream accepts the connection and never answers', async () => {
    const mute = await upstream(() => undefined);
    expect(await ask(answered({ hostResolvers: [mute.address] }), question('example.com'), CLI, 'tcp')).toMatchObject({ id: 4242, rcode: 'SERVFAIL' });
  });

  it('moves on at once from an upstream whose port is closed', async () => {
    const closed = await silentUpstream();
    closed.stop();
    const live = await upstream();
    const metrics = recordingMetrics();
    const resolver = answered({ hostResolvers: [closed.address, live.address], upstreamTimeoutMs: 60_000, metrics });
    expect(dataOf(await ask(resolver, question('example.com')))).toEqual(['192.0.2.7']);
    expect(metrics.failures).toEqual([closed.address]);
  });

  it("asks the next upstream after a SERVFAIL, and passes the last one's on", async () => {
    const failing = await upstream(() => ({ flags: 2 }));
    const live = await upstream();
    expect(dataOf(await ask(answered({ hostResolvers: [failing.address, live.address] }), question('example.com')))).toEqual(['192.0.2.7']);
    expect(await ask(answered({ hostResolvers: [failing.address] }), question('example.com'))).toMatchObject({ rcode: 'SERVFAIL' });
  });

  it('passes a truncated UDP answer on, and forwards the retry over TCP', async () => {
    const server = await upstream((query, transport) =>
      transport === 'udp' ? { flags: dnsPacket.TRUNCATED_RESPONSE } : { answers: [{ name: query.questions?.[0]?.name ?? '', type: 'A', ttl: 60, data: '192.0.2.8' }] },
    );
    const resolver = answered({ hostResolvers: [server.address] });
    expect(await ask(resolver, question('big.example'), CLI, 'udp')).toMatchObject({ flag_tc: true, answers: [] });
    expect(dataOf(await ask(resolver, question('big.example'), CLI, 'tcp'))).toEqual(['192.0.2.8']);
  });

  it("asks the sandbox's --dns servers instead of the host's", async () => {
    const { asked, exchange } = recordingExchange();
    const resolver = answered({ hostResolvers: ['198.51.100.1'], exchange });
    await ask(resolver, question('example.com'), BOTH);
    await ask(resolver, question('example.com'), CLI);
    expect(asked).toEqual([
      { address: '192.0.2.53', port: 53, origin: 'sandbox' },
      { address: '198.51.100.1', port: 53, origin: 'host' },
    ]);
    // --dns 127.0.0.11 names this resolver itself: asking it would only loop, so the host's are asked.
    const looping = ENDPOINTS.map((candidate) => (candidate.id === 'cli-front' ? { ...candidate, dns: ['127.0.0.11'] } : candidate));
    resolver.update(testView({ endpoints: looping }), READY);
    await ask(resolver, question('example.com'), CLI);
    expect(asked[2]).toEqual({ address: '198.51.100.1', port: 53, origin: 'host' });
  });

  it('answers REFUSED at once, asking no upstream, for a sandbox on --internal networks only', async () => {
    const { asked, exchange } = recordingExchange();
    const resolver = answered({ hostResolvers: ['198.51.100.1'], exchange });
    const vault = { id: 'sb-vault', name: 'vault', netnsName: 'trsb-vault', networkMode: '', sharesNetns: false, netnsPath: '' };
    const vaultBack = endpoint('vault-back', { nodeId: 'A', sandboxId: vault.id, sandboxName: 'vault', networkId: 'n2', ip: '10.231.2.40' });
    resolver.update(testView({ sandboxes: [...testView().sandboxes, vault], endpoints: [...ENDPOINTS, vaultBack] }), new Set([...READY, vaultBack.id]));
    expect(await ask(resolver, question('example.com'), { netnsName: 'trsb-vault' })).toMatchObject({ id: 4242, rcode: 'REFUSED', answers: [] });
    expect(await ask(resolver, question('db'), { netnsName: 'trsb-vault' })).toMatchObject({ rcode: 'NOERROR' });
    expect(asked).toEqual([]);
  });

  it('refuses a host resolver that is not an address, naming it', () => {
    expect(() => createResolver({ hostResolvers: ['dns.example'], upstreamTimeoutMs: TIMEOUT_MS })).toThrow('resolver "dns.example" is not an address');
  });
});
