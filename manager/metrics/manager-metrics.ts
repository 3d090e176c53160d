import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { NodeStatus, type Node } from '../../proto/gen/trellis/v1/types';
import type { ClusterObserver, ProposalOutcome } from '../cluster/raft-cluster';
import type { DispatcherObserver, ManagerMessageKind } from '../dispatcher/dispatcher-service';
import type { ConfState, Status } from '../raft/core';
import type { Command, Store } from '../store';
import { AttachTracker, type UnconfirmedReason } from './attach-tracker';

/** What the scrape-time gauges read: the parts of RaftCluster and Dispatcher they need. */
export interface MetricSources {
  cluster: {
    readonly store: Store;
    status(): Status;
    isLeader(): boolean;
    membership(): ConfState;
    onLeadershipChange(listener: (leading: boolean) => void): () => void;
  };
  dispatcher: {
    sessionCount(): number;
    withLiveness(node: Node): Node;
  };
}

const outcomes: readonly ProposalOutcome[] = ['committed', 'failed', 'forwarded'];
const messageKinds: readonly ManagerMessageKind[] = ['resync', 'delta', 'readiness', 'trust', 'memberDigests', 'memberEntries'];
/** The label of a message kind: its field name in dispatcher.proto. */
const kindLabel = (kind: ManagerMessageKind): string => kind.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
const unconfirmedReasons: readonly UnconfirmedReason[] = ['expired', 'overflow', 'abandoned'];

/**
 * One manager's Prometheus metrics, in a registry of its own so that several
 * managers in one process (tests) don't collide. Raft and node state is read
 * on scrape; only events (proposals, leadership changes, attaches) are counted
 * as they happen, through the cluster's and dispatcher's observer hooks.
 */
export class ManagerMetrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  private readonly proposals: Counter<'result'>;
  private readonly leaderChanges: Counter;
  private readonly viewBytes: Counter<'kind'>;
  private readonly sentBytes: Counter<'kind'>;
  private readonly digestCorrections: Counter;
  private readonly memberEntriesAnswered: Counter;
  private readonly tracker: AttachTracker;

  constructor(now: () => number = () => performance.now()) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const metrics = () => this.sources;
    const raftStatus = () => metrics()?.cluster.status();

    new Gauge({
      name: 'trellis_raft_term',
      help: 'Current Raft term of this manager.',
      registers,
      collect() {
        const status = raftStatus();
        if (status) this.set(status.hardState.term);
      },
    });
    new Gauge({
      name: 'trellis_raft_is_leader',
      help: '1 if this manager is the Raft leader, else 0.',
      registers,
      collect() {
        const sources = metrics();
        if (sources) this.set(sources.cluster.isLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trellis_raft_commit_index',
      help: 'Highest Raft log index this manager knows to be committed.',
      registers,
      collect() {
        const status = raftStatus();
        if (status) this.set(status.hardState.commit);
      },
    });
    new Gauge({
      name: 'trellis_raft_applied_index',
      help: 'Highest Raft log index applied to this manager\'s store.',
      registers,
      collect() {
        const status = raftStatus();
        if (status) this.set(status.applied);
      },
    });
    new Gauge({
      name: 'trellis_raft_members',
      help: 'Raft members in this manager\'s view of the configuration, by role.',
      labelNames: ['role'] as const,
      registers,
      collect() {
        const sources = metrics();
        if (!sources) return;
        const { voters, learners } = sources.cluster.membership();
        this.set({ role: 'voter' }, voters.length);
        this.set({ role: 'learner' }, learners.length);
      },
    });
    new Gauge({
      name: 'trellis_agent_sessions',
      help: 'Agent sessions open on this manager (only the leader holds any).',
      registers,
      collect() {
        const sources = metrics();
        if (sources) this.set(sources.dispatcher.sessionCount());
      },
    });
    new Gauge({
      name: 'trellis_nodes',
      help: 'Registered nodes by liveness; exported by the leader only, since liveness is known only where agents hold sessions.',
      labelNames: ['status'] as const,
      registers,
      collect() {
        // A follower would report every node down: export nothing there, so sum() across managers stays right.
        this.reset();
        const sources = metrics();
        if (!sources?.cluster.isLeader()) return;
        let ready = 0;
        let down = 0;
        for (const node of sources.cluster.store.nodes()) {
          if (sources.dispatcher.withLiveness(node).status === NodeStatus.NODE_STATUS_READY) ready += 1;
          else down += 1;
        }
        this.set({ status: 'ready' }, ready);
        this.set({ status: 'down' }, down);
      },
    });

    this.proposals = new Counter({
      name: 'trellis_raft_proposals_total',
      help: 'Writes proposed on this manager by outcome: committed (applied here as leader, whether or not the store accepted it), failed (no leader, dropped or timed out), forwarded (handed to the leader, which counts it again).',
      labelNames: ['result'] as const,
      registers,
    });
    for (const result of outcomes) this.proposals.inc({ result }, 0);
    this.leaderChanges = new Counter({
      name: 'trellis_raft_leader_changes_total',
      help: 'Times this manager became or stopped being the Raft leader.',
      registers,
    });

    const convergence = new Histogram({
      name: 'trellis_attach_to_programmed_seconds',
      help: 'Leader only: time from applying a connect until every node hosting its network reported programming that revision.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const tracker = () => this.tracker;
    const unconfirmed = new Counter({
      name: 'trellis_attach_unconfirmed_total',
      help: 'Leader only: connects whose convergence was never measured: expired (not confirmed within 60 s), overflow (over 10000 pending), abandoned (leadership lost).',
      labelNames: ['reason'] as const,
      registers,
      // Expiry runs on scrape too, so an idle leader still reports attaches that will never confirm.
      collect: () => tracker().expire(),
    });
    for (const reason of unconfirmedReasons) unconfirmed.inc({ reason }, 0);
    this.viewBytes = new Counter({
      name: 'trellis_dispatcher_view_bytes_total',
      help: 'Bytes of desired view sent to agents: kind="resync" for whole views (sent in chunks), kind="delta" for changes.',
      labelNames: ['kind'],
      registers,
    });
    this.viewBytes.inc({ kind: 'resync' }, 0);
    this.viewBytes.inc({ kind: 'delta' }, 0);
    this.sentBytes = new Counter({
      name: 'trellis_dispatcher_sent_bytes_total',
      help: 'Leader only: bytes of every message sent to agents on their sessions, by kind (the ManagerMessage field: resync, delta, readiness, trust, member_digests, member_entries).',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of messageKinds) this.sentBytes.inc({ kind: kindLabel(kind) }, 0);
    this.digestCorrections = new Counter({
      name: 'trellis_gossip_digest_corrections_total',
      help: 'Leader only: member digests sent to gossiping agents whose programmed digest of a member had differed from the truth past the grace period.',
      registers,
    });
    this.memberEntriesAnswered = new Counter({
      name: 'trellis_gossip_member_entries_answered_total',
      help: "Leader only: gossiping agents' fallback requests for a member's entries (MemberEntriesRequest) answered.",
      registers,
    });
    this.tracker = new AttachTracker({
      now,
      confirmed: (seconds) => convergence.observe(seconds),
      unconfirmed: (reason) => unconfirmed.inc({ reason }),
    });
  }

  /** Points the scrape-time gauges at the manager's parts; the observers may be handed out before this. */
  bind(sources: MetricSources): void {
    this.sources = sources;
    sources.cluster.onLeadershipChange((leading) => {
      this.leaderChanges.inc();
      if (!leading) this.tracker.abandon();
    });
  }

  readonly clusterObserver: ClusterObserver = {
    proposalFinished: (outcome) => this.proposals.inc({ result: outcome }),
    applied: (command, store) => this.onApplied(command, store),
  };

  readonly dispatcherObserver: DispatcherObserver = {
    programmed: (nodeId, revision) => this.tracker.programmed(nodeId, revision),
    sent: (kind, bytes) => {
      if (kind === 'resync' || kind === 'delta') this.viewBytes.inc({ kind }, bytes);
      this.sentBytes.inc({ kind: kindLabel(kind) }, bytes);
    },
    digestsCorrected: (pairs) => this.digestCorrections.inc(pairs),
    memberEntriesAnswered: () => this.memberEntriesAnswered.inc(),
  };

  private onApplied(command: Command, store: Store): void {
    // Only the leader hears agents' reports, so only there can convergence be measured.
    if (command.type !== 'connect' || !this.sources?.cluster.isLeader()) return;
    // The nodes a connect affects are the nodes hosting its network: the ones that must program it.
    const hosts = store.affectedNodesSince(store.revision - 1);
    if (hosts) this.tracker.attached(hosts, store.revision);
  }
}
