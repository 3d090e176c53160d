import type { MemberDigest, MemberEntries, MemberEntriesRequest, MemberProgrammed } from '../../proto/gen/trellis/v1/dispatcher';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import type { Changes } from '../store';
import { DigestLags, type LaggingPair } from './digest-lags';
import type { GossipStore } from './gossip-store';
import { MemberDigestLedger } from './member-digest-ledger';

/** The sessions the judgment speaks to. */
export interface GossipSessions {
  /** The node's agent holds a session. */
  live(nodeId: string): boolean;
  /**
   * The leader may speak for the node's endpoints (digests, answers to fallbacks): its agent is
   * live, or known down. Just after a leader takes over, an agent that has not come back yet may
   * be on its way with news the store lacks (a new address it took while every manager was
   * down): its members keep its gossip until it is heard or found down.
   */
  speaksFor(nodeId: string): boolean;
  /** MemberDigests (not a replace) to the node's session. */
  sendDigests(nodeId: string, digests: MemberDigest[]): void;
}

export interface GossipJudgeOptions {
  /** How long a member's programmed digest may differ from the truth before the leader sends it the truth (default 2 s). */
  correctionGraceMs?: number;
  now?: () => number;
}

/** One owner's set on one network. */
export interface MemberPair {
  networkId: string;
  ownerId: string;
}

export const defaultCorrectionGraceMs = 2_000;

/** One network's floor counts: the members they are over, and per owner how many of them reported each digest of its set ('' none). */
interface FloorCounts {
  list: readonly string[];
  members: Set<string>;
  byOwner: Map<string, Map<string, number>>;
}

function bump(counts: Map<string, number>, digest: string, by: number): void {
  const count = (counts.get(digest) ?? 0) + by;
  if (count > 0) counts.set(digest, count);
  else counts.delete(digest);
}

/**
 * The leader's judgment of gossip (not replicated, like readiness): the digest of every gossiping
 * owner's set on each network it hosts with how it changed (MemberDigestLedger), what each member
 * reported having programmed of it (ProgrammedReport.members), and from those how far each member
 * has programmed each owner's endpoints (readiness) and which members lag (corrections).
 *
 * The leader speaks on members' sessions only when gossip cannot: an owner whose agent is not live
 * cannot gossip its change, and a member that has lagged past the grace period gets the truth.
 */
export class GossipJudge {
  private readonly ledger = new MemberDigestLedger();
  /** Per member: per network, per owner, the digest it last reported programmed. Kept after its session ends, like its report. */
  private readonly reports = new Map<string, Map<string, Map<string, string>>>();
  private readonly lags: DigestLags;
  /** Per network: the members floors are counted over, and per owner how many of them reported each digest (see `floor`). */
  private readonly floors = new Map<string, FloorCounts>();
  private readonly now: () => number;

  constructor(
    private readonly store: GossipStore,
    private readonly sessions: GossipSessions,
    options: GossipJudgeOptions = {},
  ) {
    this.lags = new DigestLags(options.correctionGraceMs ?? defaultCorrectionGraceMs);
    this.now = options.now ?? Date.now;
  }

  /** The truth of a pair now, as sent to members. */
  digest(networkId: string, ownerId: string): MemberDigest {
    const revision = this.store.revision;
    const { digest } = this.ledger.current(networkId, ownerId, revision, () => gossipEntryDigest(this.store.memberEntries(networkId, ownerId)));
    return { networkId, nodeId: ownerId, digest, revision };
  }

  /** For a gossiping node: the digest of every fellow member on each of these networks (all its hosted ones when its session opens). */
  digestsOn(memberId: string, networkIds: Iterable<string>): MemberDigest[] {
    if (!this.store.gossips(memberId)) return [];
    return [...networkIds].flatMap((networkId) =>
      this.membersOf(networkId, memberId)
        .filter((ownerId) => this.sessions.speaksFor(ownerId))
        .map((ownerId) => this.digest(networkId, ownerId)),
    );
  }

  /**
   * The store moved on: the digests of the pairs its changes may touch are computed again (all
   * tracked ones when it cannot say what changed). Returns the networks whose readiness may change,
   * and the digests to send to members because their owners cannot gossip them (not live).
   */
  storeChanged(changes: Changes | undefined): { touched: Set<string>; toMembers: Map<string, MemberDigest[]> } {
    const touched = new Set<string>();
    const toMembers = new Map<string, MemberDigest[]>();
    const now = this.now();
    for (const { networkId, ownerId } of this.pairsTouched(changes)) {
      const fresh = !this.ledger.tracked(networkId, ownerId);
      const gossiping = this.store.gossips(ownerId) && this.store.hostedNetworks(ownerId).has(networkId);
      // Of an owner that does not gossip, only whether it just stopped matters.
      if (!gossiping && fresh) continue;
      touched.add(networkId);
      if (!gossiping) {
        this.ledger.forget(networkId, ownerId);
        continue;
      }
      const digest = gossipEntryDigest(this.store.memberEntries(networkId, ownerId));
      const changed = this.ledger.record(networkId, ownerId, this.store.revision, digest);
      const members = this.membersOf(networkId, ownerId);
      // A pair new here may be a member new on the network: what it holds of the others is checked too.
      if (fresh) for (const other of members) this.check({ memberId: ownerId, networkId, ownerId: other }, now);
      if (!changed) continue;
      for (const memberId of members) this.check({ memberId, networkId, ownerId }, now);
      // A live owner's agent gossips its change itself; one that is not live cannot (and one not
      // heard yet is left to its gossip: the lags above correct its members once it is known down).
      if (this.sessions.live(ownerId) || !this.sessions.speaksFor(ownerId)) continue;
      const truth = this.digest(networkId, ownerId);
      for (const memberId of members.filter((id) => this.sessions.live(id))) {
        const digests = toMembers.get(memberId);
        if (digests) digests.push(truth);
        else toMembers.set(memberId, [truth]);
      }
    }
    // A node that starts or stops gossiping changes how its networks' readiness is judged.
    for (const nodeId of changes?.nodes ?? []) for (const networkId of this.store.hostedNetworks(nodeId)) touched.add(networkId);
    return { touched, toMembers };
  }

  /**
   * A member's ProgrammedReport.members: only changes, but every pair in the first report of a
   * session, which replaces what it reported before. Returns the networks whose readiness may change.
   */
  reported(memberId: string, members: readonly MemberProgrammed[], first: boolean): Set<string> {
    const changed: MemberPair[] = [];
    if (first) {
      const before = [...(this.reports.get(memberId) ?? [])].flatMap(([networkId, owners]) => [...owners.keys()].map((ownerId) => ({ networkId, ownerId })));
      for (const pair of before) this.setReported(memberId, pair, '');
      changed.push(...before);
    }
    for (const { networkId, ownerNodeId: ownerId, digest } of members) {
      this.setReported(memberId, { networkId, ownerId }, digest);
      changed.push({ networkId, ownerId });
    }
    const now = this.now();
    const touched = new Set<string>();
    for (const { networkId, ownerId } of changed) {
      touched.add(networkId);
      if (this.store.hostIds(networkId).has(ownerId)) this.check({ memberId, networkId, ownerId }, now);
    }
    // Pairs it has never reported lag as much as those it reported wrong.
    if (first && this.store.gossips(memberId)) for (const networkId of this.store.hostedNetworks(memberId)) for (const ownerId of this.membersOf(networkId, memberId)) this.check({ memberId, networkId, ownerId }, now);
    return touched;
  }

  /**
   * The revision up to which every one of `members` (live gossiping hosts of the network that
   * reported it) but the owner has programmed the owner's endpoints there: a member that programmed
   * a set holds every endpoint created at or before the revision from which that set was the truth.
   * Counted per network as members and reports change; looked up in the owner's digest history when asked.
   */
  floor(networkId: string, ownerId: string, members: readonly string[]): number {
    const floors = this.floorsOver(networkId, members);
    let counts = floors.byOwner.get(ownerId);
    if (!counts) {
      counts = new Map();
      for (const memberId of floors.members) if (memberId !== ownerId) bump(counts, this.reportedDigest(memberId, networkId, ownerId), 1);
      floors.byOwner.set(ownerId, counts);
    }
    this.digest(networkId, ownerId);
    // Most members report the same digest: each distinct one is looked up once.
    let floor = Infinity;
    for (const digest of counts.keys()) floor = Math.min(floor, this.ledger.coveredUpTo(networkId, ownerId, digest));
    return floor;
  }

  /**
   * The network's counts, over `list` now: a member that joined or left it is added to or taken
   * from each owner's counts (a session opening costs one step per owner, not one per owner and
   * member, which on a network every node hosts is a million for each of a thousand openings).
   */
  private floorsOver(networkId: string, list: readonly string[]): FloorCounts {
    const floors = this.floors.get(networkId);
    if (!floors) {
      const fresh = { list, members: new Set(list), byOwner: new Map<string, Map<string, number>>() };
      this.floors.set(networkId, fresh);
      return fresh;
    }
    if (floors.list === list) return floors;
    const members = new Set(list);
    for (const memberId of floors.members) if (!members.has(memberId)) this.recount(networkId, floors, memberId, -1);
    for (const memberId of members) if (!floors.members.has(memberId)) this.recount(networkId, floors, memberId, 1);
    floors.list = list;
    floors.members = members;
    return floors;
  }

  /** A member joins (+1) or leaves (-1) every owner's counts on the network. */
  private recount(networkId: string, floors: FloorCounts, memberId: string, by: number): void {
    for (const [ownerId, counts] of floors.byOwner) if (ownerId !== memberId) bump(counts, this.reportedDigest(memberId, networkId, ownerId), by);
  }

  /** Records what a member reported of a pair ('' for nothing), moving it between the digests counted for the owner's floor. */
  private setReported(memberId: string, { networkId, ownerId }: MemberPair, digest: string): void {
    const before = this.reportedDigest(memberId, networkId, ownerId);
    let byNetwork = this.reports.get(memberId);
    if (!byNetwork) this.reports.set(memberId, (byNetwork = new Map()));
    let owners = byNetwork.get(networkId);
    if (!owners) byNetwork.set(networkId, (owners = new Map()));
    if (digest === '') owners.delete(ownerId);
    else owners.set(ownerId, digest);
    const floors = this.floors.get(networkId);
    const counts = floors?.byOwner.get(ownerId);
    if (!counts || !floors?.members.has(memberId) || memberId === ownerId || before === digest) return;
    bump(counts, before, -1);
    bump(counts, digest, 1);
  }

  /** Sends the truth to each member that has lagged past the grace period (once per pair per period); returns how many pairs. */
  correct(): number {
    const byMember = new Map<string, MemberDigest[]>();
    for (const pair of this.lags.due(this.now())) {
      if (!this.isPair(pair) || !this.sessions.live(pair.memberId)) {
        this.lags.caughtUp(pair);
        continue;
      }
      if (!this.sessions.speaksFor(pair.ownerId)) continue;
      let digests = byMember.get(pair.memberId);
      if (!digests) byMember.set(pair.memberId, (digests = []));
      digests.push(this.digest(pair.networkId, pair.ownerId));
    }
    let count = 0;
    for (const [memberId, digests] of byMember) {
      this.sessions.sendDigests(memberId, digests);
      count += digests.length;
    }
    return count;
  }

  /**
   * A member's fallback (MemberEntriesRequest): the owner's endpoints on the network now, with
   * their readiness; none when the asker or the owner does not host the network; no answer while
   * the leader cannot speak for the owner yet.
   */
  answer(memberId: string, request: MemberEntriesRequest, readyOn: (networkId: string) => ReadonlySet<string>): MemberEntries | undefined {
    const { networkId, ownerNodeId } = request;
    // The member asks again later (see GossipSessions.speaksFor).
    if (!this.sessions.speaksFor(ownerNodeId)) return undefined;
    const revision = this.store.revision;
    const hosts = this.store.hostIds(networkId);
    if (!hosts.has(memberId) || !hosts.has(ownerNodeId)) return { networkId, ownerNodeId, revision, entries: [] };
    const ready = readyOn(networkId);
    const entries = this.store.memberEntries(networkId, ownerNodeId).map((entry) => ({ ...entry, ready: ready.has(entry.endpointId) }));
    return { networkId, ownerNodeId, revision, entries };
  }

  /**
   * The endpoints of other gossiping owners the member has not programmed yet (those its lagging
   * digests do not cover): what the API, which reads nodes as listed, counts as unprogrammed there.
   */
  uncovered(memberId: string): string[] {
    return this.lags.pairsOf(memberId).flatMap((pair) => {
      if (!this.isPair(pair)) return [];
      const { networkId, ownerId } = pair;
      const upTo = this.ledger.coveredUpTo(networkId, ownerId, this.reportedDigest(memberId, networkId, ownerId));
      return this.store.ownedEndpoints(networkId, ownerId).flatMap((endpoint) => (endpoint.createdRevision > upTo ? [endpoint.id] : []));
    });
  }

  /** These digests (truths) reached the member's stream now: it lags on none of them before a grace period from now. */
  told(memberId: string, digests: readonly MemberDigest[]): void {
    const now = this.now();
    for (const { networkId, nodeId: ownerId } of digests) this.lags.told({ memberId, networkId, ownerId }, now);
  }

  /** The member's session ended: it is not corrected until it reports again. */
  sessionClosed(memberId: string): void {
    this.lags.forgetMember(memberId);
  }

  /** Leadership lost: the next time it leads, it starts from the store and the agents' first reports. */
  reset(): void {
    this.ledger.reset();
    this.reports.clear();
    this.lags.reset();
    this.floors.clear();
  }

  private reportedDigest(memberId: string, networkId: string, ownerId: string): string {
    return this.reports.get(memberId)?.get(networkId)?.get(ownerId) ?? '';
  }

  /** The other gossiping hosts of a network. */
  private membersOf(networkId: string, nodeId: string): string[] {
    return [...this.store.hostIds(networkId)].filter((hostId) => hostId !== nodeId && this.store.gossips(hostId));
  }

  private isPair({ memberId, networkId, ownerId }: LaggingPair): boolean {
    const hosts = this.store.hostIds(networkId);
    return memberId !== ownerId && hosts.has(memberId) && hosts.has(ownerId) && this.store.gossips(memberId) && this.store.gossips(ownerId);
  }

  /** Starts or stops a live member's lag clock on a pair, by whether its report matches the truth. */
  private check(pair: LaggingPair, now: number): void {
    if (!this.sessions.live(pair.memberId) || !this.isPair(pair)) {
      this.lags.caughtUp(pair);
      return;
    }
    if (this.reportedDigest(pair.memberId, pair.networkId, pair.ownerId) === this.digest(pair.networkId, pair.ownerId).digest) this.lags.caughtUp(pair);
    else this.lags.lagging(pair, now);
  }

  /** The pairs whose set a change may have touched: all tracked ones when the store cannot say. */
  private pairsTouched(changes: Changes | undefined): MemberPair[] {
    if (changes) return this.store.changedPairs(changes);
    return [...this.ledger.networks()].flatMap((networkId) => [...this.ledger.owners(networkId)].map((ownerId) => ({ networkId, ownerId })));
  }
}
