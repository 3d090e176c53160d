/// <reference path="../../proto/runtime/dht/holepunch.d.ts" />
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import HyperDHT = require('hyperdht');
import Hyperswarm = require('hyperswarm');
import { dhtNodeAddress, startDhtNode, type DhtAddress, type DhtNodeOptions } from '../../proto/runtime/dht/dht-node';
import { rememberDhtNodes, rememberedDhtNodes, uniqueAddresses } from './dht-memory';
import { DEFAULT_MAX_MESSAGE_BYTES, FrameDecoder, FrameTooLargeError, encodeFrame } from './frames';
import { gossipSeed } from './gossip-seed';
import type { GossipMember, GossipTransport } from './transport';
import { NO_TRANSPORT_METRICS, type GossipTransportMetrics } from './transport-metrics';

export interface HyperswarmTransportOptions {
  /** The agent's state directory, where its gossip seed is kept (gossip-seed.ts). */
  stateDir: string;
  /** Topics are this cluster's only: another cluster on the same DHT never meets ours. */
  clusterId: string;
  /**
   * This agent's own DHT node; its bootstrap is the managers' DHT nodes (and the agents it knows,
   * when it can list them): the nodes it knew last time are added (dht-memory.ts).
   */
  dht: DhtNodeOptions;
  maxMessageBytes?: number;
  metrics?: GossipTransportMetrics;
  log: Logger;
}

/**
 * The DHT key of a gossip topic: SHA-256 of "trellis-gossip-v1", the cluster id and the topic (a
 * network id), each followed by a NUL (ids hold no NUL, so no two pairs give the same input).
 * Anyone who knows the ids can find the topic's members; only members get through the firewall.
 */
export function topicKey(clusterId: string, topic: string): Buffer {
  return createHash('sha256').update(`trellis-gossip-v1\0${clusterId}\0${topic}\0`).digest();
}

const KEY_HEX = /^[0-9a-f]{64}$/;

/*
 * hyperswarm's defaults (1 s, 5 s, 15 s, 10 min) leave a member unlinked for seconds after a dial
 * that came before it announced itself. A member set is small and known, so redialing a missing
 * one every 5 s (a DHT lookup) is cheap.
 */
const REDIAL_BACKOFFS_MS: [number, number, number, number] = [250, 750, 5_000, 60_000];
const REDIAL_JITTER_MS = 250;

/** How often the DHT nodes known are written down for the next start. */
const REMEMBER_EVERY_MS = 60_000;

interface Link {
  publicKey: string;
  socket: HyperDHT.SecretStream;
  decoder: FrameDecoder;
}

/** Starts the agent's DHT node and the swarm on it, with the key pair from its state directory. */
export async function startHyperswarmTransport(options: HyperswarmTransportOptions): Promise<HyperswarmTransport> {
  const keyPair = HyperDHT.keyPair(await gossipSeed(options.stateDir));
  const bootstrap = uniqueAddresses(options.dht.bootstrap, rememberedDhtNodes(options.stateDir));
  const dht = await startDhtNode({ ...options.dht, bootstrap });
  return new HyperswarmTransport(keyPair, dht, options);
}

/**
 * GossipTransport over hyperswarm. Trust: a peer gets a link only when its Noise public key (which
 * the handshake proves it holds) is a current member's; the swarm's firewall refuses every other
 * key on incoming and outgoing connections, and setMembers cuts at once a link whose key left.
 * Every member is dialed by its key (the managers tell us the keys, so no discovery is needed to
 * find one), and topics announce this node on the DHT per network. One link per member: hyperswarm
 * settles simultaneous dials to one connection; should two still arrive, the newer one replaces
 * the older and the member is announced again (its anti-entropy starts over).
 */
export class HyperswarmTransport implements GossipTransport {
  readonly publicKey: string;
  private readonly swarm: Hyperswarm;
  private readonly maxMessageBytes: number;
  private readonly metrics: GossipTransportMetrics;
  private readonly log: Logger;
  private readonly clusterId: string;
  /** Member public key (hex) → node id. */
  private members = new Map<string, string>();
  private readonly links = new Map<string, Link>();
  private readonly topics = new Map<string, Buffer>();
  private readonly messageHandlers: ((fromNodeId: string, message: Uint8Array) => void)[] = [];
  private readonly peerHandlers: ((nodeId: string, connected: boolean) => void)[] = [];
  private closing: Promise<void> | undefined;
  private readonly listening: Promise<void>;
  private readonly stateDir: string;
  private readonly remembering: NodeJS.Timeout;

  constructor(keyPair: HyperDHT.KeyPair, dht: HyperDHT, options: HyperswarmTransportOptions) {
    this.publicKey = keyPair.publicKey.toString('hex');
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.metrics = options.metrics ?? NO_TRANSPORT_METRICS;
    this.log = options.log;
    this.clusterId = options.clusterId;
    this.stateDir = options.stateDir;
    this.remembering = setInterval(() => this.rememberDhtNodes(), REMEMBER_EVERY_MS);
    this.remembering.unref();
    this.swarm = new Hyperswarm({
      keyPair,
      dht,
      firewall: (remotePublicKey) => this.refuses(remotePublicKey.toString('hex')),
      // Membership bounds the links; hyperswarm's default (64, less with explicit peers) would cap a wide network.
      maxPeers: Infinity,
      backoffs: REDIAL_BACKOFFS_MS,
      jitter: REDIAL_JITTER_MS,
    });
    this.swarm.on('connection', (socket) => this.connected(socket));
    // Listening announces our key, so that members dialing it find us, topics or not.
    this.listening = this.swarm.listen().catch((error: Error) => {
      this.log.warn({ err: error }, 'gossip: cannot announce this node on the DHT; members cannot dial it, it dials them');
    });
  }

  setMembers(members: readonly GossipMember[]): void {
    const next = new Map<string, string>();
    for (const member of members) {
      if (KEY_HEX.test(member.publicKey)) next.set(member.publicKey, member.nodeId);
      else this.log.warn({ nodeId: member.nodeId }, 'gossip: a member without a valid public key (64 hex digits) is left out');
    }
    const previous = this.members;
    this.members = next;
    for (const [key, nodeId] of previous) if (next.get(key) !== nodeId) this.swarm.leavePeer(Buffer.from(key, 'hex'));
    for (const [nodeId, link] of this.links) {
      if (next.get(link.publicKey) !== nodeId) this.cut(nodeId, link, new Error('no longer a gossip member'));
    }
    for (const key of next.keys()) {
      // The firewall's refusal bans a key in hyperswarm for good; a key that became a member is welcome again.
      const known = this.swarm.peers.get(key);
      if (known?.banned) known.ban(false);
    }
    this.dialMembers();
    void this.listening.then(() => this.dialMembers());
  }

  /**
   * Both ends of a pair dial each other: at once (a restarted agent finds peers that are up), and
   * again, those still unlinked, once its own key is announced — then whichever of the two
   * announced later finds the other without waiting for a backoff (a dial before the peer announced
   * fails). hyperswarm keeps one of two crossing connections.
   */
  private dialMembers(): void {
    if (this.closing !== undefined) return;
    for (const key of this.members.keys()) if (key !== this.publicKey) this.swarm.joinPeer(Buffer.from(key, 'hex'));
  }

  /**
   * Announces this node on the topic and looks for the others there; resolves at once, the
   * announce going on in the background (it takes as long as unreachable DHT nodes take to time
   * out — 12 s measured with every manager down — and members are dialed by key anyway).
   */
  async join(topic: string): Promise<void> {
    if (this.topics.has(topic)) return;
    const key = topicKey(this.clusterId, topic);
    this.topics.set(topic, key);
    this.swarm.join(key, { server: true, client: true });
  }

  /** Stops announcing on the topic. Links stay: they follow membership, and a member may share other networks. */
  async leave(topic: string): Promise<void> {
    const key = this.topics.get(topic);
    if (key === undefined) return;
    this.topics.delete(topic);
    await this.swarm.leave(key);
  }

  send(nodeId: string, message: Uint8Array): boolean {
    if (message.byteLength > this.maxMessageBytes) {
      throw new RangeError(`a gossip message of ${message.byteLength} bytes exceeds the bound of ${this.maxMessageBytes}`);
    }
    const link = this.links.get(nodeId);
    if (link === undefined) return false;
    const frame = encodeFrame(message);
    link.socket.write(frame);
    this.metrics.bytesSent(nodeId, frame.byteLength);
    return true;
  }

  onMessage(handler: (fromNodeId: string, message: Uint8Array) => void): void {
    this.messageHandlers.push(handler);
  }

  onPeer(handler: (nodeId: string, connected: boolean) => void): void {
    this.peerHandlers.push(handler);
  }

  /** The members with a link now. */
  linkedNodeIds(): string[] {
    return [...this.links.keys()];
  }

  /** This node's DHT address (what peers may bootstrap from). */
  dhtAddress(): DhtAddress {
    return dhtNodeAddress(this.swarm.dht);
  }

  /** Destroys every link, the swarm and the DHT node; no event is delivered after it starts. */
  close(): Promise<void> {
    this.closing ??= this.destroy();
    return this.closing;
  }

  private async destroy(): Promise<void> {
    clearInterval(this.remembering);
    this.rememberDhtNodes();
    this.messageHandlers.length = 0;
    this.peerHandlers.length = 0;
    for (const [nodeId, link] of this.links) this.cut(nodeId, link);
    await this.swarm.destroy();
  }

  /** Keeps the DHT nodes known now as bootstrap for the next start, when the managers may be down. */
  private rememberDhtNodes(): void {
    const nodes = this.swarm.dht.toArray();
    if (nodes.length === 0) return;
    try {
      rememberDhtNodes(this.stateDir, nodes);
    } catch (error) {
      this.log.warn({ err: error }, 'gossip: cannot write down the DHT nodes known');
    }
  }

  private refuses(publicKey: string): boolean {
    if (this.members.has(publicKey)) return false;
    this.metrics.peerRefused(publicKey);
    return true;
  }

  private connected(socket: HyperDHT.SecretStream): void {
    // An unhandled error event (a timeout, a reset) would end the agent.
    socket.on('error', (error) => this.log.debug({ err: error.message }, 'gossip: link error'));
    const publicKey = socket.remotePublicKey.toString('hex');
    const nodeId = this.members.get(publicKey);
    // Membership may have changed between the firewall's check and now.
    if (this.closing !== undefined || nodeId === undefined) {
      socket.destroy();
      return;
    }
    const link: Link = { publicKey, socket, decoder: new FrameDecoder(this.maxMessageBytes) };
    const previous = this.links.get(nodeId);
    this.links.set(nodeId, link);
    previous?.socket.destroy();
    socket.on('data', (chunk) => this.received(nodeId, link, chunk));
    socket.on('close', () => {
      if (this.links.get(nodeId) !== link) return;
      this.links.delete(nodeId);
      this.announce(nodeId, false);
    });
    this.announce(nodeId, true);
  }

  private received(nodeId: string, link: Link, chunk: Buffer): void {
    if (this.links.get(nodeId) !== link) return;
    this.metrics.bytesReceived(nodeId, chunk.byteLength);
    let messages: Buffer[];
    try {
      messages = link.decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameTooLargeError)) throw error;
      this.metrics.frameRefused(nodeId, error.length);
      this.log.warn({ nodeId, length: error.length, max: error.maxBytes }, 'gossip: closing the link to a member that sent a message above the bound');
      this.cut(nodeId, link, error);
      return;
    }
    for (const message of messages) {
      for (const handler of this.messageHandlers) handler(nodeId, message);
      if (this.links.get(nodeId) !== link) return;
    }
  }

  private cut(nodeId: string, link: Link, error?: Error): void {
    if (this.links.get(nodeId) === link) {
      this.links.delete(nodeId);
      this.announce(nodeId, false);
    }
    link.socket.destroy(error);
  }

  private announce(nodeId: string, connected: boolean): void {
    this.metrics.linkChanged(nodeId, connected);
    for (const handler of this.peerHandlers) handler(nodeId, connected);
  }
}
