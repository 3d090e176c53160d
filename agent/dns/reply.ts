import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer } from 'dns-packet';
import type { DnsTransport } from './model';
import { MAX_TCP_MESSAGE } from './tcp-framing';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

/**
 * The TTL of every cluster answer. Short because names follow readiness: a backend that leaves or
 * stops being ready must leave the answers of caching clients (nscd, a JVM, a local dnsmasq) within
 * seconds, not minutes as Docker's 600 s. glibc and Go do not cache at all, so the price is only
 * paid by caching clients, and a cluster answer costs a few map lookups.
 */
export const CLUSTER_TTL_SECONDS = 5;
/** What a UDP reply may hold without EDNS (RFC 1035). */
const PLAIN_UDP_SIZE = 512;
/** The largest UDP reply we send, and what our OPT record advertises (the sockets are on lo). */
const EDNS_UDP_SIZE = 4096;
const OPCODE_BITS = 0xf << 11;
const RCODE_BITS = 0xf;

export function rcodeOf(packet: DecodedPacket): number {
  return (packet.flags ?? 0) & RCODE_BITS;
}

export function opcodeOf(packet: DecodedPacket): number {
  return ((packet.flags ?? 0) & OPCODE_BITS) >> 11;
}

/** How large a reply to `query` may be: the client's EDNS0 size over UDP (512 without), 64 KiB over TCP. */
export function replyLimit(query: DecodedPacket, transport: DnsTransport): number {
  if (transport === 'tcp') return MAX_TCP_MESSAGE;
  const size = ednsOf(query)?.udpPayloadSize ?? PLAIN_UDP_SIZE;
  return Math.min(Math.max(size, PLAIN_UDP_SIZE), EDNS_UDP_SIZE);
}

export interface ReplyContent {
  rcode: Rcode;
  /** The cluster's own answer (AA), not an upstream's. */
  authoritative: boolean;
  answers: Answer[];
}

/**
 * The reply to `query`: its id, opcode, question and RD, with RA, and an OPT record when the
 * client sent one. Above `limit` bytes it carries TC and only the answers that fit, so a UDP
 * client retries over TCP and gets them all.
 */
export function encodeReply(query: DecodedPacket, content: ReplyContent, limit: number): Buffer {
  const flags =
    ((query.flags ?? 0) & (OPCODE_BITS | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED)) |
    dnsPacket.RECURSION_AVAILABLE |
    (content.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    content.rcode;
  const packet = (answers: Answer[], truncated: boolean): dnsPacket.Packet => ({
    type: 'response',
    id: query.id,
    flags: truncated ? flags | dnsPacket.TRUNCATED_RESPONSE : flags,
    questions: query.questions ?? [],
    answers,
    additionals: ednsOf(query) ? [ourEdns()] : [],
  });
  const whole = packet(content.answers, false);
  if (dnsPacket.encodingLength(whole) <= limit) return dnsPacket.encode(whole);
  // The largest prefix of the answers that fits, found in log2(n) size computations.
  let fits = 0;
  let tooMany = content.answers.length;
  while (tooMany - fits > 1) {
    const middle = (fits + tooMany) >> 1;
    if (dnsPacket.encodingLength(packet(content.answers.slice(0, middle), true)) <= limit) fits = middle;
    else tooMany = middle;
  }
  return dnsPacket.encode(packet(content.answers.slice(0, fits), true));
}

/**
 * A reply with only `rcode` to a message dns-packet cannot read (FORMERR) or answer (SERVFAIL),
 * when it has a header to answer to and is not itself a reply, which must never be answered: two
 * resolvers would answer each other forever. Only the id and the QR bit are read here.
 */
export function headerOnlyReply(message: Buffer, rcode: Rcode): Buffer | undefined {
  if (message.length < 12 || (message.readUInt8(2) & 0x80) !== 0) return undefined;
  return dnsPacket.encode({ type: 'response', id: message.readUInt16BE(0), flags: dnsPacket.RECURSION_AVAILABLE | rcode, questions: [], answers: [] });
}

function ednsOf(query: DecodedPacket): OptAnswer | undefined {
  return query.additionals?.find((record): record is OptAnswer => record.type === 'OPT');
}

function ourEdns(): OptAnswer {
  return { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}
