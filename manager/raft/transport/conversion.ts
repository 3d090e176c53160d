import type { RaftEntry, RaftMessage } from '../../../proto/gen/trellis/v1/raft';
import type { Entry, EntryType, Message, MessageType } from '../core/types';

const messageTypeNames: Record<MessageType, true> = {
  app: true,
  appResp: true,
  vote: true,
  voteResp: true,
  preVote: true,
  preVoteResp: true,
  heartbeat: true,
  heartbeatResp: true,
  snap: true,
  timeoutNow: true,
  readIndex: true,
  readIndexResp: true,
  transferLeader: true,
};

const entryTypeNames: Record<EntryType, true> = { normal: true, confChange: true };

/** Every MessageType, for tests that must cover them all. */
export const messageTypes = Object.keys(messageTypeNames) as MessageType[];

function isMessageType(name: string): name is MessageType {
  return Object.hasOwn(messageTypeNames, name);
}

function isEntryType(name: string): name is EntryType {
  return Object.hasOwn(entryTypeNames, name);
}

/** The same bytes as a Buffer, without copying (ts-proto's bytes fields are Buffers). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The same bytes as a plain Uint8Array, without copying, so the core never sees a Buffer. */
function asBytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function entryToProto(entry: Entry): RaftEntry {
  return { term: entry.term, index: entry.index, type: entry.type, data: asBuffer(entry.data) };
}

function entryFromProto(entry: RaftEntry): Entry {
  if (!isEntryType(entry.type)) throw new Error(`entry ${entry.index}: unknown type "${entry.type}"`);
  return { term: entry.term, index: entry.index, type: entry.type, data: asBytes(entry.data) };
}

/**
 * The wire form of a core message. A snapshot's metadata travels on the message;
 * its data does not: the sender streams it in SnapshotChunks.
 */
export function messageToProto(message: Message): RaftMessage {
  const { snapshot } = message;
  return {
    type: message.type,
    from: message.from,
    to: message.to,
    term: message.term,
    logTerm: message.logTerm,
    index: message.index,
    entries: message.entries.map(entryToProto),
    commit: message.commit,
    reject: message.reject,
    rejectHint: message.rejectHint,
    context: message.context,
    snapshotMetadata: snapshot && {
      index: snapshot.metadata.index,
      term: snapshot.metadata.term,
      confState: { voters: snapshot.metadata.confState.voters, learners: snapshot.metadata.confState.learners },
    },
  };
}

/**
 * The core message a wire message stands for; `snapshotData` is the reassembled
 * data of a message that carries snapshot metadata, and must come with it.
 * Throws on anything the core has no meaning for.
 */
export function messageFromProto(proto: RaftMessage, snapshotData?: Uint8Array): Message {
  if (!isMessageType(proto.type)) throw new Error(`unknown message type "${proto.type}"`);
  const metadata = proto.snapshotMetadata;
  if ((metadata === undefined) !== (snapshotData === undefined)) {
    throw new Error(metadata ? 'snapshot metadata without its data' : 'snapshot data without its metadata');
  }
  const message: Message = {
    type: proto.type,
    from: proto.from,
    to: proto.to,
    term: proto.term,
    logTerm: proto.logTerm,
    index: proto.index,
    entries: proto.entries.map(entryFromProto),
    commit: proto.commit,
    reject: proto.reject,
    rejectHint: proto.rejectHint,
    context: proto.context,
  };
  if (metadata && snapshotData) {
    const confState = metadata.confState ?? { voters: [], learners: [] };
    message.snapshot = {
      metadata: {
        index: metadata.index,
        term: metadata.term,
        confState: { voters: confState.voters, learners: confState.learners },
      },
      data: asBytes(snapshotData),
    };
  }
  return message;
}
