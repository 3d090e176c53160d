import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question as PacketQuestion } from 'dns-packet';
import { buildDirectory, type Directory, type DirectoryAnswer } from './directory';
import { RESOLVER_ADDRESS, type Asker, type DnsResult, type DnsTransport, type Resolver, type ResolverOptions, type Upstream } from './model';
import { CLUSTER_TTL_SECONDS, encodeReply, headerOnlyReply, opcodeOf, RCODE, replyLimit, type ReplyContent } from './reply';
import { forwardQuery, parseUpstream, socketExchange, type Forwarding } from './upstream';

/** Types the metrics name; any other is counted as 'other', so no client can grow the label set. */
const COUNTED_TYPES = new Set(['A', 'AAAA', 'PTR', 'SRV', 'TXT', 'MX', 'CNAME', 'NS', 'SOA', 'ANY']);

interface Outcome {
  reply: Buffer | undefined;
  result: DnsResult;
}

/**
 * The agent's resolver. `update` swaps in a directory built from the new view; a query in flight
 * keeps the one it started with. Until the first view every query gets SERVFAIL: the resolver does
 * not know yet which names are the cluster's, and a client retries a SERVFAIL.
 */
export function createResolver(options: ResolverOptions): Resolver {
  const hostUpstreams = options.hostResolvers.map((resolver) => parseUpstream(resolver, 'host'));
  const forwarding: Forwarding = { exchange: options.exchange ?? socketExchange, timeoutMs: options.upstreamTimeoutMs, metrics: options.metrics };
  let directory: Directory | undefined;

  async function answer(query: DecodedPacket, question: PacketQuestion, raw: Buffer, asker: Asker, transport: DnsTransport): Promise<Outcome> {
    const local = (result: DnsResult, content: ReplyContent): Outcome => ({ reply: encodeReply(query, content, replyLimit(query, transport)), result });
    if (directory === undefined) return local('servfail', { rcode: RCODE.SERVFAIL, authoritative: false, answers: [] });
    const found = directory.answer(asker, question);
    switch (found.kind) {
      case 'records':
        return local('answer', { rcode: RCODE.NOERROR, authoritative: true, answers: records(question, found) });
      case 'nodata':
        return local('nodata', { rcode: RCODE.NOERROR, authoritative: true, answers: [] });
      case 'nxdomain':
        return local('nxdomain', { rcode: RCODE.NXDOMAIN, authoritative: true, answers: [] });
      case 'refused':
        return local('refused', { rcode: RCODE.REFUSED, authoritative: false, answers: [] });
      case 'forward': {
        const own = sandboxUpstreams(found.dns);
        const upstreams = own.length > 0 ? own : hostUpstreams;
        const reply = await forwardQuery(raw, query.id ?? 0, upstreams, transport, asker, forwarding);
        if (reply !== undefined) return { reply, result: 'forwarded' };
        return local('servfail', { rcode: RCODE.SERVFAIL, authoritative: false, answers: [] });
      }
    }
  }

  async function respond(raw: Buffer, asker: Asker, transport: DnsTransport): Promise<Outcome & { type: string }> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return { reply: headerOnlyReply(raw, RCODE.FORMERR), result: 'formerr', type: 'other' };
    }
    if (query.type === 'response') return { reply: undefined, result: 'formerr', type: 'other' };
    const questions = query.questions ?? [];
    const [question] = questions;
    const type = question !== undefined && COUNTED_TYPES.has(question.type) ? question.type : 'other';
    const limit = replyLimit(query, transport);
    if (opcodeOf(query) !== 0) return { reply: encodeReply(query, { rcode: RCODE.REFUSED, authoritative: false, answers: [] }, limit), result: 'refused', type };
    if (question === undefined || questions.length > 1) {
      return { reply: encodeReply(query, { rcode: RCODE.FORMERR, authoritative: false, answers: [] }, limit), result: 'formerr', type };
    }
    return { ...(await answer(query, question, raw, asker, transport)), type };
  }

  return {
    update(view, ready) {
      directory = buildDirectory(view, ready);
    },
    async respond(raw, asker, transport) {
      const started = performance.now();
      const outcome = await respond(raw, asker, transport).catch((): Outcome & { type: string } => ({ reply: headerOnlyReply(raw, RCODE.SERVFAIL), result: 'servfail', type: 'other' }));
      if (outcome.reply !== undefined) options.metrics?.query(outcome.type, outcome.result, (performance.now() - started) / 1000);
      return outcome.reply;
    },
  };
}

function records(question: PacketQuestion, found: Extract<DirectoryAnswer, { kind: 'records' }>): Answer[] {
  const data = found.shuffle ? shuffled(found.data) : found.data;
  return data.map((value) => ({ name: question.name, type: found.type, class: 'IN', ttl: CLUSTER_TTL_SECONDS, data: value }));
}

function shuffled(values: readonly string[]): string[] {
  const copy = [...values];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    const kept = copy[index] as string;
    copy[index] = copy[other] as string;
    copy[other] = kept;
  }
  return copy;
}

/**
 * A sandbox's --dns servers (IPv4, checked by the managers); one that does not parse is skipped,
 * and so is the resolver's own address, which would only send the query back here.
 */
function sandboxUpstreams(dns: readonly string[]): Upstream[] {
  return dns.flatMap((address) => {
    if (address === RESOLVER_ADDRESS) return [];
    try {
      return [parseUpstream(address, 'sandbox')];
    } catch {
      return [];
    }
  });
}
