import type { GossipMember, GossipTransport } from './transport';

type Link = [InProcessTransport, InProcessTransport];

interface InFlight {
  from: string;
  to: InProcessTransport;
  bytes: Uint8Array;
}

/**
 * The agents' network in one process, for property tests: the test decides when each message
 * is delivered, lost or duplicated, which pairs are cut off, and when links come and go
 * (settle()). Like the hyperswarm transport, two nodes are linked only when each counts the
 * other as a member and both joined a common topic; a message is delivered only while its pair
 * is linked and to the very transport it was sent to (one that restarted gets nothing meant for
 * its previous life), but a message from a sender's previous life may still arrive.
 */
export class InProcessNetwork {
  private readonly transports = new Map<string, InProcessTransport>();
  private readonly cut = new Set<string>();
  private links = new Map<string, Link>();
  readonly inFlight: InFlight[] = [];

  /** The transport of `nodeId`'s current life; a new one replaces (closes) the previous. */
  open(nodeId: string): InProcessTransport {
    const transport = new InProcessTransport(nodeId, this);
    this.transports.set(nodeId, transport);
    return transport;
  }

  close(transport: InProcessTransport): void {
    if (this.transports.get(transport.nodeId) === transport) this.transports.delete(transport.nodeId);
  }

  partition(a: string, b: string): void {
    this.cut.add(pairKey(a, b));
  }

  healAll(): void {
    this.cut.clear();
  }

  /** Brings links up and down to match memberships, topics and partitions, telling both ends. */
  settle(): void {
    const wanted = new Map<string, Link>();
    const all = [...this.transports.values()];
    for (const a of all) {
      for (const b of all) {
        if (a.nodeId >= b.nodeId || this.cut.has(pairKey(a.nodeId, b.nodeId))) continue;
        if (a.accepts(b.nodeId) && b.accepts(a.nodeId) && a.sharesTopicWith(b)) wanted.set(pairKey(a.nodeId, b.nodeId), [a, b]);
      }
    }
    const previous = this.links;
    this.links = wanted;
    // A link between other lives of the same two nodes is another connection: down, then up.
    const same = (x: Link | undefined, y: Link | undefined): boolean => x !== undefined && y !== undefined && x[0] === y[0] && x[1] === y[1];
    for (const [key, link] of previous) if (!same(link, wanted.get(key))) notify(link, false);
    for (const [key, link] of wanted) if (!same(link, previous.get(key))) notify(link, true);
  }

  send(from: string, to: string, bytes: Uint8Array): boolean {
    const target = this.transports.get(to);
    const link = this.links.get(pairKey(from, to));
    if (!target || !link?.includes(target)) return false;
    this.inFlight.push({ from, to: target, bytes });
    return true;
  }

  deliver(index: number): void {
    const [message] = this.inFlight.splice(index, 1);
    if (message && this.links.get(pairKey(message.from, message.to.nodeId))?.includes(message.to)) {
      message.to.receive(message.from, message.bytes);
    }
  }

  drop(index: number): void {
    this.inFlight.splice(index, 1);
  }

  duplicate(index: number): void {
    const message = this.inFlight[index];
    if (message) this.inFlight.push({ ...message });
  }

  /** Delivers everything in flight, in order, including what the deliveries cause. */
  flush(): void {
    while (this.inFlight.length > 0) this.deliver(0);
  }
}

export class InProcessTransport implements GossipTransport {
  readonly publicKey: string;
  private members = new Set<string>();
  private readonly topics = new Set<string>();
  private messageHandler: (fromNodeId: string, message: Uint8Array) => void = () => undefined;
  private peerHandler: (nodeId: string, connected: boolean) => void = () => undefined;

  constructor(
    readonly nodeId: string,
    private readonly network: InProcessNetwork,
  ) {
    this.publicKey = `key-${nodeId}`;
  }

  setMembers(members: readonly GossipMember[]): void {
    this.members = new Set(members.map((member) => member.nodeId));
  }

  join(topic: string): Promise<void> {
    this.topics.add(topic);
    return Promise.resolve();
  }

  leave(topic: string): Promise<void> {
    this.topics.delete(topic);
    return Promise.resolve();
  }

  send(nodeId: string, message: Uint8Array): boolean {
    return this.network.send(this.nodeId, nodeId, message);
  }

  onMessage(handler: (fromNodeId: string, message: Uint8Array) => void): void {
    this.messageHandler = handler;
  }

  onPeer(handler: (nodeId: string, connected: boolean) => void): void {
    this.peerHandler = handler;
  }

  close(): Promise<void> {
    this.network.close(this);
    return Promise.resolve();
  }

  accepts(nodeId: string): boolean {
    return this.members.has(nodeId);
  }

  sharesTopicWith(other: InProcessTransport): boolean {
    return [...this.topics].some((topic) => other.topics.has(topic));
  }

  receive(from: string, bytes: Uint8Array): void {
    this.messageHandler(from, bytes);
  }

  peer(nodeId: string, up: boolean): void {
    this.peerHandler(nodeId, up);
  }
}

function notify([a, b]: Link, up: boolean): void {
  a.peer(b.nodeId, up);
  b.peer(a.nodeId, up);
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
