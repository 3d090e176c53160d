import type { GossipMember, GossipTransport } from './transport';

/**
 * A transport as the GossipAgent uses it, that also keeps which members have a link now and says
 * when that changes: the wiring takes an owner's gossiped readiness only while it is linked
 * (composed-view.ts).
 */
export class LinkWatch implements GossipTransport {
  private readonly up = new Set<string>();

  constructor(
    private readonly transport: GossipTransport,
    private readonly changed: () => void,
  ) {}

  get publicKey(): string {
    return this.transport.publicKey;
  }

  /** The members linked now (the set itself: copy it to keep it). */
  linked(): ReadonlySet<string> {
    return this.up;
  }

  setMembers(members: readonly GossipMember[]): void {
    this.transport.setMembers(members);
  }

  join(topic: string): Promise<void> {
    return this.transport.join(topic);
  }

  leave(topic: string): Promise<void> {
    return this.transport.leave(topic);
  }

  send(nodeId: string, message: Uint8Array): boolean {
    return this.transport.send(nodeId, message);
  }

  onMessage(handler: (fromNodeId: string, message: Uint8Array) => void): void {
    this.transport.onMessage(handler);
  }

  onPeer(handler: (nodeId: string, connected: boolean) => void): void {
    this.transport.onPeer((nodeId, connected) => {
      if (connected) this.up.add(nodeId);
      else this.up.delete(nodeId);
      handler(nodeId, connected);
      this.changed();
    });
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
