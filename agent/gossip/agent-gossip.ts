import type { Logger } from 'pino';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import type { MemberDigests, MemberEntries, MemberProgrammed, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { composeView, memberNetworks, ownEndpoints, type Composition } from './composed-view';
import { GossipAgent } from './gossip-agent';
import { LinkWatch } from './link-watch';
import type { GossipMetrics } from './model';
import { PropagationClock } from './propagation-clock';
import type { SavedView } from '../session/view-file';
import type { GossipTransport } from './transport';

/** The timers of a running agent's gossip (GossipAgentOptions). */
export const GOSSIP_TIMERS = {
  /** Above the leader's grace (~2 s) before it corrects a lagging member's digest. */
  fallbackAfterMs: 5_000,
  antiEntropyIntervalMs: 10_000,
  antiEntropyPeers: 2,
  /** Long enough for a member whose link flapped to catch up by changes rather than a snapshot. */
  tombstoneTtlMs: 10 * 60_000,
  tickMs: 1_000,
  /**
   * How long a start waits to hear every member before it programs anyway. Until then the kernel
   * keeps what it held: a remote entry programmed before the restart would otherwise leave it
   * until its owner's gossip came back (a gap in traffic at every agent restart).
   */
  warmUpMs: 5_000,
};

/** The digest of no endpoints: what is programmed of a member not heard from yet (a member hosts the network, so it has some). */
const NOTHING_HEARD = gossipEntryDigest([]);

export interface AgentGossipMetrics extends GossipMetrics {
  /** Other gossiping nodes sharing a network with this one. */
  members(count: number): void;
  /** Seconds from remote entries first learned to the end of the pass that programmed them. */
  propagated(seconds: readonly number[]): void;
}

export interface AgentGossipOptions {
  transport: GossipTransport;
  /** This start's incarnation (epoch-file.ts). */
  epoch: number;
  /** The fallback: ask the leader for a member's entries on a network (ManagerSession.requestMemberEntries). */
  askManager(networkId: string, ownerNodeId: string): void;
  /** A composed view to program (ConvergeLoop.offer). */
  offer(view: NodeView): void;
  /** The composed ready set changed (balancing and DNS follow it); called before the view that goes with it is offered. */
  readinessChanged(ready: ReadonlySet<string>): void;
  metrics?: AgentGossipMetrics;
  logger: Logger;
  now?: () => number;
}

/**
 * A gossiping agent's wiring: the managers' slim view, readiness, digests and answers go in, the
 * GossipAgent keeps the tables, and every change of either offers the loop a composed view
 * (composed-view.ts), remembering which composition each offered view is so that the report
 * after a pass carries exactly the member digests that pass programmed.
 */
export class AgentGossip {
  private agent: GossipAgent | undefined;
  /** The id the agent gossips as (its first view's). */
  private nodeId: string | undefined;
  private held: NodeView | undefined;
  private managerReady: ReadonlySet<string> = new Set();
  private current: Composition | undefined;
  private readonly compositions = new WeakMap<NodeView, Composition>();
  private readonly clock = new PropagationClock();
  /** The composition whose sources were kept last (toSave). */
  private saved: Composition | undefined;
  private scheduled = false;
  /** The next composition is offered even if it asks for nothing new: a view arrived (the loop has always run on each). */
  private offerAnyway = false;
  private readonly ticker: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly startedAtMs: number;
  /** Every member was heard from, or the warm-up is over: composed views go to the loop. */
  private warm = false;
  /** A link coming or going changes which gossiped readiness counts. */
  private readonly links: LinkWatch;

  constructor(private readonly options: AgentGossipOptions) {
    this.now = options.now ?? Date.now;
    this.links = new LinkWatch(options.transport, () => this.schedule());
    this.startedAtMs = this.now();
    this.ticker = setInterval(() => {
      this.agent?.tick();
      if (!this.warm) this.schedule();
    }, GOSSIP_TIMERS.tickMs);
  }

  /** A new view from the managers (ManagerSession.onView). */
  viewArrived(view: NodeView): void {
    const agent = this.gossipAgent(view.nodeId);
    this.held = view;
    this.offerAnyway = true;
    agent.setNetworks(memberNetworks(view));
    this.options.metrics?.members(new Set(view.members.map((member) => member.nodeId)).size);
    agent.setOwnEndpoints(ownEndpoints(view, this.managerReady), view.revision);
    this.schedule();
  }

  /** The managers' ready set changed (ManagerSession.onReadiness): own endpoints' readiness is gossiped too. */
  readinessArrived(ready: ReadonlySet<string>): void {
    this.managerReady = new Set(ready);
    if (this.held) this.agent?.setOwnEndpoints(ownEndpoints(this.held, this.managerReady), this.held.revision);
    this.schedule();
  }

  digestsArrived(message: MemberDigests): void {
    this.agent?.setDigests(
      message.digests.map(({ networkId, nodeId, digest, revision }) => ({ networkId, nodeId, digest, revision })),
      message.replace,
    );
  }

  entriesArrived(message: MemberEntries): void {
    this.agent?.managerAnswer({ networkId: message.networkId, ownerNodeId: message.ownerNodeId, revision: message.revision, entries: message.entries });
  }

  /** The ready set balancing, DNS and the mesh use: the managers' and the remote endpoints announced ready. */
  readyEndpoints(): ReadonlySet<string> {
    return this.current?.ready ?? this.managerReady;
  }

  /** The member digests of the composition `view` is (what the report after a pass over it carries). */
  programmedMembers(view: NodeView): MemberProgrammed[] {
    return this.compositions.get(view)?.members ?? [];
  }

  /** A pass converged on `view`: the entries it programmed have propagated. */
  converged(view: NodeView, unprogrammedEndpointIds: readonly string[]): void {
    const composition = this.compositions.get(view);
    if (composition) this.options.metrics?.propagated(this.clock.programmed(composition.remote, new Set(unprogrammedEndpointIds), this.now()));
  }

  /**
   * What to keep after a pass over `view` (saveView): the managers' view and ready set it was
   * composed from; undefined when those are what was kept last.
   */
  toSave(view: NodeView): SavedView | undefined {
    const composition = this.compositions.get(view);
    if (!composition || (composition.held === this.saved?.held && composition.managerReady === this.saved.managerReady)) return undefined;
    this.saved = composition;
    return { view: composition.held, readyEndpointIds: [...composition.managerReady] };
  }

  /** For ConvergeLoop: whether two composed views ask the kernel for the same thing. */
  sameDesired(a: NodeView, b: NodeView): boolean {
    const first = this.compositions.get(a);
    const second = this.compositions.get(b);
    return first !== undefined && second !== undefined ? first.key === second.key : a.revision === b.revision;
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    await this.links.close();
  }

  /** Made with the first view: a node certified as a manager learns its node id only from its registration. */
  private gossipAgent(nodeId: string): GossipAgent {
    if (this.agent === undefined) {
      this.nodeId = nodeId;
      this.agent = new GossipAgent({
        nodeId,
        epoch: this.options.epoch,
        transport: this.links,
        now: this.now,
        ...GOSSIP_TIMERS,
        askManager: (networkId, ownerNodeId) => this.options.askManager(networkId, ownerNodeId),
        onTableChange: () => this.schedule(),
        metrics: this.options.metrics,
        onError: (error) => this.options.logger.warn({ err: error }, 'gossip: a topic could not be joined or left'),
      });
    } else if (nodeId !== this.nodeId) {
      this.options.logger.error({ was: this.nodeId, now: nodeId }, 'gossip: this node was registered again under a new id; restart the agent to gossip as it');
      this.nodeId = nodeId;
    }
    return this.agent;
  }

  /** Changes come in bursts (a view touches every network, a link brings several sets): one composition for each burst. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.recompose();
    });
  }

  private recompose(): void {
    const held = this.held;
    const agent = this.agent;
    if (!held || !agent) return;
    const previous = this.current;
    const next = composeView(held, this.managerReady, agent, this.links.linked());
    this.warm ||= next.members.every((member) => member.digest !== NOTHING_HEARD) || this.now() - this.startedAtMs >= GOSSIP_TIMERS.warmUpMs;
    if (!this.warm) return;
    const readyChanged = previous === undefined || !sameSet(previous.ready, next.ready);
    if (!this.offerAnyway && !readyChanged && previous?.key === next.key) return;
    this.offerAnyway = false;
    this.current = next;
    this.compositions.set(next.view, next);
    this.clock.composed(next.remote, this.now());
    if (readyChanged) this.options.readinessChanged(next.ready);
    this.options.offer(next.view);
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((id) => b.has(id));
}
