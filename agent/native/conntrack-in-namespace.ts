import { close as closeInBackground, readSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { AF_NETLINK, NETLINK_NETFILTER, SOL_SOCKET, SO_RCVTIMEO } from './netfilter-socket';
import { inNetworkNamespace } from './network-namespace';

/**
 * Clearing conntrack entries inside a network namespace over ctnetlink, in this process: what
 * `nsenter --net=PATH conntrack -D -d VIP [-r BACKEND]` does, without the two processes. The
 * netlink socket is made inside the namespace (it talks to that namespace's table for good) and
 * then read and written from the agent's own.
 */

/** Flows whose original destination is `vip` and, when given, whose answers come from `backend`. */
export interface FlowMatch {
  vip: string;
  backend?: string;
}

const AF_INET = 2;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLA_TYPE_MASK = 0x3fff;
const NLA_F_NESTED = 0x8000;

const CTNETLINK = 1 << 8;
const CT_NEW = CTNETLINK | 0;
const CT_GET = CTNETLINK | 1;
const CT_DELETE = CTNETLINK | 2;
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_ID = 12;
const CTA_ZONE = 18;
const CTA_TUPLE_IP = 1;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;

const HEADER = 16;
const NFGENMSG = 4;
const align = (length: number): number => (length + 3) & ~3;

/** A netlink attribute: its type (flags masked off) and its payload. */
interface Attribute {
  type: number;
  value: Buffer;
}

function attributes(data: Buffer): Attribute[] {
  const found: Attribute[] = [];
  for (let offset = 0; offset + 4 <= data.length; ) {
    const length = data.readUInt16LE(offset);
    if (length < 4 || offset + length > data.length) break;
    found.push({ type: data.readUInt16LE(offset + 2) & NLA_TYPE_MASK, value: data.subarray(offset + 4, offset + length) });
    offset += align(length);
  }
  return found;
}

const attribute = (list: Attribute[], type: number): Buffer | undefined => list.find((item) => item.type === type)?.value;

/** The raw attribute (header included), to send back as it came. */
function rawAttribute(type: number, value: Buffer): Buffer {
  const raw = Buffer.alloc(align(4 + value.length));
  raw.writeUInt16LE(4 + value.length, 0);
  raw.writeUInt16LE(type, 2);
  value.copy(raw, 4);
  return raw;
}

function message(type: number, flags: number, sequence: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER + NFGENMSG);
  header.writeUInt32LE(HEADER + NFGENMSG + payload.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(sequence, 8);
  header.writeUInt8(AF_INET, HEADER);
  return Buffer.concat([header, payload]);
}

const ipv4 = (value: Buffer | undefined): string | undefined => (value?.length === 4 ? [...value].join('.') : undefined);

function tupleAddress(entry: Attribute[], tuple: number, field: number): string | undefined {
  const tupleValue = attribute(entry, tuple);
  const ip = tupleValue === undefined ? undefined : attribute(attributes(tupleValue), CTA_TUPLE_IP);
  return ip === undefined ? undefined : ipv4(attribute(attributes(ip), field));
}

function errnoName(code: number): string {
  const name = Object.entries(constants.errno).find(([, value]) => value === code)?.[0];
  return name ?? `errno ${code}`;
}

/** The replies to one request, message by message, until its end (DONE, or the ACK or error). */
function* replies(fd: number): Generator<{ type: number; body: Buffer }> {
  const buffer = Buffer.alloc(1 << 16);
  for (;;) {
    const length = readSync(fd, buffer, 0, buffer.length, null);
    for (let offset = 0; offset + HEADER <= length; ) {
      const size = buffer.readUInt32LE(offset);
      if (size < HEADER || offset + size > length) throw new Error('ctnetlink: a truncated reply');
      const type = buffer.readUInt16LE(offset + 4);
      const body = Buffer.from(buffer.subarray(offset + HEADER, offset + size));
      if (type === NLMSG_DONE) return;
      yield { type, body };
      if (type === NLMSG_ERROR) return;
      offset += align(size);
    }
  }
}

/** A negative errno from an NLMSG_ERROR body (0 is the ACK). */
const replyError = (body: Buffer): number => -body.readInt32LE(0);

/**
 * Clears conntrack's entries of flows matching any of `matches` in one namespace, reusing one
 * socket per namespace until `close`, which closes them on libuv's threadpool: the last close of
 * a netfilter netlink socket waits for nf_tables' pending destructions after a commit that
 * deleted something (see NftSession), and that wait must not hold the agent's thread.
 */
export class ConntrackSession {
  private readonly sockets = new Map<string, number>();
  private sequence = 0;

  /** Deletes the matching entries of the namespace at `path`; resolves with how many went. */
  deleteFlows(path: string, matches: readonly FlowMatch[]): number {
    if (matches.length === 0) return 0;
    const fd = this.socketIn(path);
    try {
      return this.deleteOn(fd, matches);
    } catch (error) {
      // Replies of the failed exchange may still be queued: the socket is not used again.
      this.sockets.delete(path);
      closeInBackground(fd, () => undefined);
      throw error;
    }
  }

  private deleteOn(fd: number, matches: readonly FlowMatch[]): number {
    const doomed: Buffer[] = [];
    this.sequence += 1;
    writeSync(fd, message(CT_GET, NLM_F_REQUEST | NLM_F_DUMP, this.sequence, Buffer.alloc(0)));
    for (const reply of replies(fd)) {
      if (reply.type === NLMSG_ERROR) throw new Error(`ctnetlink dump: ${errnoName(replyError(reply.body))}`);
      if (reply.type !== CT_NEW) continue;
      const entry = attributes(reply.body.subarray(NFGENMSG));
      const destination = tupleAddress(entry, CTA_TUPLE_ORIG, CTA_IP_V4_DST);
      const answeredBy = tupleAddress(entry, CTA_TUPLE_REPLY, CTA_IP_V4_SRC);
      if (!matches.some((match) => match.vip === destination && (match.backend === undefined || match.backend === answeredBy))) continue;
      // Deleted by its original tuple (and id and zone, so a newer flow with the same tuple stays).
      const identity = [CTA_TUPLE_ORIG, CTA_ID, CTA_ZONE].flatMap((type) => {
        const value = attribute(entry, type);
        return value === undefined ? [] : [rawAttribute(type === CTA_TUPLE_ORIG ? type | NLA_F_NESTED : type, value)];
      });
      doomed.push(Buffer.concat(identity));
    }
    for (const entry of doomed) {
      this.sequence += 1;
      writeSync(fd, message(CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, this.sequence, entry));
      for (const reply of replies(fd)) {
        const code = reply.type === NLMSG_ERROR ? replyError(reply.body) : 0;
        // ENOENT: the flow ended meanwhile, which is what was wanted.
        if (code !== 0 && code !== constants.errno.ENOENT) throw new Error(`ctnetlink delete: ${errnoName(code)}`);
      }
    }
    return doomed.length;
  }

  close(): void {
    for (const fd of this.sockets.values()) closeInBackground(fd, () => undefined);
    this.sockets.clear();
  }

  private socketIn(path: string): number {
    const known = this.sockets.get(path);
    if (known !== undefined) return known;
    const fd = inNetworkNamespace(path, (calls) => {
      const socket = calls.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
      if (socket < 0) throw new Error(`cannot make a netfilter netlink socket in ${path}: ${errnoName(calls.errno())}`);
      // A reply that never comes fails the call after 2 s instead of hanging the agent.
      const timeout = Buffer.alloc(16);
      timeout.writeBigInt64LE(2n, 0);
      calls.setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, timeout, timeout.length);
      return socket;
    });
    this.sockets.set(path, fd);
    return fd;
  }
}
