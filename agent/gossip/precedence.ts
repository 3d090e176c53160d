import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import type { EndpointRecord, ManagerEntries, ManagerMember } from './model';
import { Replica } from './replica';

export interface Decision {
  source: 'gossip' | 'manager';
  records: EndpointRecord[];
  /** gossipEntryDigest(records): the same decision twice in a row programs nothing new. */
  digest: string;
  /** The disagreement with the managers' digest began now (a mismatch to count). */
  mismatchBegan: boolean;
  /** The disagreement lasted half the timeout: ask the member (a digest) before the managers. */
  probe: boolean;
  /** Ask the managers for this member's entries on the network (a fallback to count). */
  ask: boolean;
}

/**
 * What this node programs of one member's endpoints on one network: gossip from the member
 * (its Replica), judged against the managers' digest for it (MemberDigest).
 */
export class MemberJudgment {
  readonly replica = new Replica();
  /** The managers' latest digest of the member's set here, and the store revision it is true at. */
  private judged: { digest: string; revision: number } | undefined;
  private answer: { revision: number; digest: string; records: EndpointRecord[] } | undefined;
  private disagreeingSinceMs: number | undefined;
  private askedAtMs: number | undefined;
  private probed = false;
  private gossipDigest: { version: string; digest: string } | undefined;

  constructor(
    private member: ManagerMember,
    private readonly fallbackAfterMs: number,
  ) {}

  get nodeId(): string {
    return this.member.nodeId;
  }

  get publicKey(): string {
    return this.member.publicKey;
  }

  /** A newer view's description of the member (its key or address changed). */
  updateMember(member: ManagerMember): void {
    this.member = member;
  }

  /** The managers' digest of the member's set as of `revision`; one older than the digest held is ignored. */
  updateDigest(digest: string, revision: number): void {
    if (this.judged && revision < this.judged.revision) return;
    if (digest !== this.judged?.digest) this.disagree(undefined);
    this.judged = { digest, revision };
  }

  /** A replacing MemberDigests left the member out: no digest is held for it. */
  forgetDigest(): void {
    this.judged = undefined;
    this.disagree(undefined);
  }

  /** The managers' answer to a fallback request; also their latest judgment of the member. */
  takeAnswer(answer: ManagerEntries): void {
    if (this.judged && answer.revision < this.judged.revision) return;
    const digest = gossipEntryDigest(answer.entries);
    this.updateDigest(digest, answer.revision);
    this.answer = { revision: answer.revision, digest, records: answer.entries.map((entry) => ({ ...entry })) };
  }

  /**
   * THE PRECEDENCE RULE. The managers are the judge and gossip is the road:
   *  1. gossip is programmed when it matches the managers' digest for the member, when no digest
   *     is held yet, or when it is of a later revision than the digest (the owner relays the
   *     managers' truth from its own view, which is ahead of the digest held here: the leader
   *     sends members no digest for a change the owner can gossip itself);
   *  2. otherwise (gossip of the digest's revision or older that disagrees with it), an answer of
   *     the managers that matches their digest is programmed: after a fallback the managers'
   *     entries win until gossip catches up (then rule 1 again);
   *  3. otherwise gossip is still programmed, since the owner is the only writer and may simply
   *     not have been heard yet; when the disagreement with the same digest lasts half of
   *     `fallbackAfterMs` the owner is sent a digest (it may only have lost a message), and when
   *     it lasts `fallbackAfterMs` the managers are asked (again every `fallbackAfterMs` until
   *     they answer, e.g. while none is reachable). With no link to the owner (`linked` false:
   *     a member just met, or one that cannot be reached) gossip cannot come, so there is no
   *     probe and the managers are asked after a fifth of the timeout: a node joining a network
   *     reaches its members at the managers' speed, and gossip takes over once linked.
   * A member the managers remove is dropped by the caller at once, whatever gossip says.
   */
  decide(nowMs: number, linked = true): Decision {
    const gossip = this.replica.records();
    const digest = this.digestOfGossip(gossip);
    const judged = this.judged;
    if (judged === undefined || digest === judged.digest || this.replica.revision > judged.revision) {
      this.disagree(undefined);
      this.askedAtMs = undefined;
      this.answer = undefined;
      return { source: 'gossip', records: gossip, digest, mismatchBegan: false, probe: false, ask: false };
    }
    const mismatchBegan = this.disagreeingSinceMs === undefined;
    const since = this.disagree(this.disagreeingSinceMs ?? nowMs);
    if (this.answer?.digest === judged.digest) return { source: 'manager', records: this.answer.records, digest: this.answer.digest, mismatchBegan, probe: false, ask: false };
    const probe = linked && !this.probed && nowMs - since >= this.fallbackAfterMs / 2;
    if (probe) this.probed = true;
    const waitMs = linked ? this.fallbackAfterMs : this.fallbackAfterMs / 5;
    const ask = nowMs - since >= waitMs && (this.askedAtMs === undefined || nowMs - this.askedAtMs >= this.fallbackAfterMs);
    if (ask) this.askedAtMs = nowMs;
    return { source: 'gossip', records: gossip, digest, mismatchBegan, probe, ask };
  }

  /** Starts (or ends, with undefined) a disagreement with the digest held; returns when it began. */
  private disagree(sinceMs: number | undefined): number {
    if (sinceMs !== this.disagreeingSinceMs) this.probed = false;
    this.disagreeingSinceMs = sinceMs;
    return sinceMs ?? 0;
  }

  private digestOfGossip(records: EndpointRecord[]): string {
    const held = this.replica.version;
    const version = held ? `${held.epoch}.${held.counter}` : '';
    if (this.gossipDigest?.version !== version) this.gossipDigest = { version, digest: gossipEntryDigest(records) };
    return this.gossipDigest.digest;
  }
}
