import { isDeepStrictEqual } from 'node:util';
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { addressOnly } from '../../proto/runtime/ipv4';
import type { ReservedPort } from '../../proto/gen/trellis/v1/types';
import type { PublishedPort } from '../firewall/model';
import {
  AdoptedNetnsQuery,
  DesiredKernel,
  DesiredSandbox,
  EGRESS_INTERFACE,
  FIREWALL_TABLE,
  GATEWAY_BRIDGE,
  IprouteKernel,
  Kernel,
  KernelAction,
  NO_ADOPTED_NETNS,
  ObservedKernel,
  ObservedLink,
  ObservedSandbox,
  ScopedRead,
  describeAction,
  networkNetnsPrefix,
} from '../kernel';
import { checkAdoptedNamespaces } from './adopted-check';
import { lanHostInterfaces } from './desired-lan';
import { DEFAULT_GATEWAY_SUBNET, DesiredResult, DesiredViewResult, desired, emptyKernel } from './desired';
import { droppedEndpointIds } from './unprogrammed';
import {
  PassScope,
  changedScope,
  desiredWithin,
  isEmptyScope,
  isWithin,
  observedWithin,
  refreshed,
  sameGlobals,
  unionOf,
} from './pass-scope';
import { plan } from './plan';
import { adoptedNetnsQuery } from './sandbox-placement';

export interface ReconcilerOptions {
  /** The device VXLAN packets leave through; its MTU sets the overlay MTU. */
  underlayDevice: string;
  /** VXLAN source address; the view's advertise address when not given. */
  localAddress?: string;
  /**
   * Tag written into every sandbox namespace this agent creates or attaches. Their names live in the machine-wide
   * /run/netns, so agents sharing a machine (the lab) must only ever remove their own. Defaults to
   * the local address, which is unique per node.
   */
  owner?: string;
  /** Where sandboxes' egress addresses come from (the gateway bridge's subnet); DEFAULT_GATEWAY_SUBNET when not given. */
  gatewaySubnet?: string;
  /** Ports of this node no sandbox may publish (the agent's metrics port, --reserved-ports). */
  reservedPorts?: readonly ReservedPort[];
  /** Link kinds the kernel can create, of "macvlan", "ipvlan", "vlan" (node-facts/probe.ts); none when not given. */
  linkKinds?: readonly string[];
}

export interface ReconcileResult {
  /** Kernel writes applied; 0 when the kernel already matched. */
  writes: number;
  /** The writes, as commands a user could type. */
  actions: string[];
  /** The same writes, as applied (what the drift metric classifies). */
  applied: KernelAction[];
  /** Parts of the view that could not be programmed, and why. */
  skipped: string[];
  /** Endpoints of the view those parts leave unprogrammed: the manager must not count them ready. */
  unprogrammedEndpointIds: string[];
  /** Whether the pass read and planned every namespace of the node, or only those a change touched. */
  pass: 'full' | 'scoped';
}

/** What scoped passes did while a survey was being read. */
interface SurveyWindow {
  touched: ScopedRead[];
  /** A full pass wrote meanwhile: nothing the survey read can be trusted. */
  stale: boolean;
}

/**
 * A full pass's reading of the whole kernel, made without writing: the slow half of a full pass,
 * which scoped passes may overtake (see ConvergeLoop); reconcileSurveyed() reads again what they
 * touched meanwhile.
 */
export interface Survey {
  readonly observed: ObservedKernel;
  readonly window: SurveyWindow;
}

/** A full pass, planned: what applying it writes, and what the kernel then matches. */
interface FullPlan {
  view: NodeView;
  target: DesiredViewResult;
  programmable: DesiredResult;
  underlayMtu: number;
  hostInterfaces: ReadonlySet<string>;
  actions: KernelAction[];
}

/** A full pass planned over a survey, while scoped passes may still write. */
export interface PlannedPass extends FullPlan {
  readonly window: SurveyWindow;
  /** How many scoped passes had written during the survey when the plan's reading began. */
  readonly touchedBefore: number;
}

const SCOPED = 'scoped' as const;
const FULL = 'full' as const;

/**
 * Makes the kernel match a node view. A full pass reads everything and diffs (level-triggered:
 * drift is found and repaired); a scoped pass reads and diffs only what changed since the last
 * pass that succeeded (pass-scope.ts says why both leave the same kernel).
 */
export class Reconciler {
  /** The desired kernel the last successful pass made the kernel match; undefined before one, and after a failure. */
  private basis: DesiredKernel | undefined;
  /** What checkAdoptedNamespaces skipped in the last pass that looked at every adopted sandbox. */
  private adoptedSkipped: string[] = [];
  /** The endpoints it dropped then. */
  private adoptedDropped: string[] = [];
  /** The underlay's MTU as the last full pass read it. */
  private underlayMtu = 0;
  /** The host's link names as the last full pass read them: what LAN networks' parents are checked against. */
  private hostInterfaces: ReadonlySet<string> = new Set();
  private readonly windows = new Set<SurveyWindow>();

  constructor(
    private readonly options: ReconcilerOptions,
    private readonly kernel: Kernel = new IprouteKernel(),
  ) {}

  /** Each sandbox's gateway-bridge (gw0) address by namespace, as the last successful pass made them; none before one. */
  egressAddresses(): ReadonlyMap<string, string> {
    return heldEgressAddresses(this.basis?.sandboxes ?? [], []);
  }

  /** The node's published ports (their DNAT targets) as the last successful pass programmed them; none before one. */
  publishedPorts(): readonly PublishedPort[] {
    return this.basis?.firewall?.published ?? [];
  }

  /** A full pass. Throws (KernelApplyError, or an Error when the underlay is missing) if the kernel may not match. */
  async reconcile(view: NodeView): Promise<ReconcileResult> {
    return this.fullPass(view, await this.observe(view, adoptedNetnsQuery(view)));
  }

  /**
   * A scoped pass over what differs from the last successful pass; a full pass when there was
   * none, or when the change reaches beyond what its scope read.
   */
  async reconcileChange(view: NodeView): Promise<ReconcileResult> {
    const basis = this.basis;
    if (basis === undefined) return this.reconcile(view);
    const basisEgress = heldEgressAddresses(basis.sandboxes, []);
    const first = this.desiredFor(view, this.underlayMtu, basisEgress, this.hostInterfaces);
    const scope = changedScope(basis, first.kernel);
    if (isEmptyScope(scope) && sameGlobals(basis, first.kernel)) {
      return { writes: 0, actions: [], applied: [], ...this.skippedOf(first), pass: SCOPED };
    }
    const read = this.scopedRead(view, scope, [basis, first.kernel]);
    const scoped = await this.writing(read, async () => {
      const observed = await this.observe(view, adoptedWithin(adoptedNetnsQuery(view), scope), read);
      if (underlayOf(observed, this.options).mtu !== this.underlayMtu) return undefined;
      // A LAN parent that came or went since the last full pass changes what is programmable: a full pass decides.
      const present = hostLinkNames(observed);
      if (lanHostInterfaces(view.networks).some((name) => present.has(name) !== this.hostInterfaces.has(name))) return undefined;
      // The desired state again only when the kernel holds other egress addresses than the last pass left.
      const held = heldEgressAddresses(basis.sandboxes, observed.sandboxes);
      const target = isDeepStrictEqual(held, basisEgress) ? first : this.desiredFor(view, this.underlayMtu, held, this.hostInterfaces);
      if (target !== first && !isWithin(changedScope(basis, target.kernel), scope)) return undefined;
      const visible = observedWithin(observed, target.kernel, scope);
      const programmable = checkAdoptedNamespaces(desiredWithin(target.kernel, scope), visible);
      // Every adopted sandbox is in a scope that has any sandbox (pass-scope.ts, point 2).
      if (scope.sandboxes.size > 0) this.adopted(view, desiredWithin(target.kernel, scope), programmable);
      const result = await this.converge(programmable.kernel, visible);
      this.basis = target.kernel;
      return { ...result, ...this.skippedOf(target), pass: SCOPED };
    });
    return scoped ?? this.reconcile(view);
  }

  /** Reads the whole kernel for a full pass, writing nothing. */
  async survey(view: NodeView): Promise<Survey> {
    const window: SurveyWindow = { touched: [], stale: false };
    this.windows.add(window);
    try {
      return { observed: await this.observe(view, adoptedNetnsQuery(view)), window };
    } catch (error) {
      this.windows.delete(window);
      throw error;
    }
  }

  /**
   * The writing half of a full pass over `survey`, for `view` (which may be newer than the one
   * surveyed), in one go: planSurveyed then applyPlanned.
   */
  async reconcileSurveyed(view: NodeView, survey: Survey): Promise<ReconcileResult> {
    const done = await this.applyPlanned(await this.planSurveyed(view, survey));
    this.windows.delete(survey.window);
    return done ?? this.reconcile(view);
  }

  /**
   * Plans a full pass over `survey` for `view`, writing nothing: the namespaces scoped passes
   * wrote since the survey began, and those `view` changes, are read again first. The plan holds
   * only while no scoped pass writes (see applyPlanned); undefined when the survey cannot be
   * trusted at all (a full pass wrote meanwhile, or no pass has succeeded).
   */
  async planSurveyed(view: NodeView, survey: Survey): Promise<PlannedPass | undefined> {
    const { observed, window } = survey;
    const basis = this.basis;
    if (window.stale || basis === undefined) return undefined;
    const touchedBefore = window.touched.length;
    const held = heldEgressAddresses(basis.sandboxes, observed.sandboxes);
    const latest = this.desiredFor(view, underlayOf(observed, this.options).mtu, held, hostLinkNames(observed));
    const reread = unionOf([...window.touched, this.scopedRead(view, changedScope(basis, latest.kernel), [basis, latest.kernel])]);
    const fresh = await this.observe(view, adoptedWithin(adoptedNetnsQuery(view), reread), reread);
    return { ...this.planFull(view, refreshed(observed, fresh, reread)), window, touchedBefore };
  }

  /**
   * Applies a planned full pass, unless a scoped pass wrote since it was planned (undefined: plan
   * again). The caller makes sure no pass writes meanwhile and that the view is still the newest.
   */
  async applyPlanned(planned: PlannedPass | undefined): Promise<ReconcileResult | undefined> {
    if (planned === undefined || planned.window.stale || planned.window.touched.length !== planned.touchedBefore) return undefined;
    this.windows.delete(planned.window);
    return this.applyFull(planned);
  }
  /**
   * Deletes every link with our prefixes in the host namespace, our network namespaces (so our
   * veths leave adopted namespaces too), the firewall table, and every sandbox namespace tagged
   * with our owner (none when neither `owner` nor `localAddress` was given); for an attached
   * process's namespace that only unmounts its name.
   */
  async removeAll(): Promise<ReconcileResult> {
    const nothing = emptyKernel(this.options.owner ?? this.options.localAddress ?? '');
    const observed = await this.read(nothing.ownerTag, NO_ADOPTED_NETNS);
    const result = await this.writing(undefined, () => this.converge(nothing, observed));
    // What the kernel matches now is nothing, not the last view: the next pass is a full one.
    this.basis = undefined;
    return { ...result, skipped: [], unprogrammedEndpointIds: [], pass: FULL };
  }

  private async fullPass(view: NodeView, observed: ObservedKernel): Promise<ReconcileResult> {
    return this.applyFull(this.planFull(view, observed));
  }

  private planFull(view: NodeView, observed: ObservedKernel): FullPlan {
    const underlayMtu = underlayOf(observed, this.options).mtu;
    const hostInterfaces = hostLinkNames(observed);
    const target = this.desiredFor(view, underlayMtu, heldEgressAddresses([], observed.sandboxes), hostInterfaces);
    const programmable = checkAdoptedNamespaces(target.kernel, observed);
    return { view, target, programmable, underlayMtu, hostInterfaces, actions: plan(programmable.kernel, observed) };
  }

  private applyFull({ view, target, programmable, underlayMtu, hostInterfaces, actions }: FullPlan): Promise<ReconcileResult> {
    return this.writing(undefined, async () => {
      const result = await this.apply(actions);
      this.basis = target.kernel;
      this.underlayMtu = underlayMtu;
      this.hostInterfaces = hostInterfaces;
      this.adopted(view, target.kernel, programmable);
      return { ...result, ...this.skippedOf(target), pass: FULL };
    });
  }

  /** Keeps what checkAdoptedNamespaces skipped of `wanted` (every adopted sandbox in it) for the passes to come. */
  private adopted(view: NodeView, wanted: DesiredKernel, programmable: DesiredResult): void {
    this.adoptedSkipped = programmable.skipped;
    this.adoptedDropped = droppedEndpointIds(view, wanted, programmable.kernel);
  }

  /** What a pass over `target` leaves unprogrammed: what desired() skipped, and what adopted namespaces did. */
  private skippedOf(target: DesiredViewResult): Pick<ReconcileResult, 'skipped' | 'unprogrammedEndpointIds'> {
    return {
      skipped: [...target.skipped, ...this.adoptedSkipped],
      unprogrammedEndpointIds: [...new Set([...target.skippedEndpointIds, ...this.adoptedDropped])],
    };
  }

  /**
   * Runs writes over `scope` (undefined: anything), telling open surveys what they can no longer
   * trust. A failure leaves no basis, so the next pass is a full one.
   */
  private async writing<T>(scope: ScopedRead | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.basis = undefined;
      throw error;
    } finally {
      for (const window of this.windows) {
        if (scope === undefined) window.stale = true;
        else window.touched.push(scope);
      }
    }
  }

  private desiredFor(
    view: NodeView,
    underlayMtu: number,
    heldEgress: ReadonlyMap<string, string>,
    hostInterfaces: ReadonlySet<string>,
  ): DesiredViewResult {
    return desired(view, {
      underlayDevice: this.options.underlayDevice,
      underlayMtu,
      localAddress: this.options.localAddress,
      ownerTag: this.ownerTag(view),
      gatewaySubnet: this.options.gatewaySubnet ?? DEFAULT_GATEWAY_SUBNET,
      heldEgressAddresses: heldEgress,
      reservedPorts: this.options.reservedPorts,
      lanHost: { interfaces: hostInterfaces, linkKinds: new Set(this.options.linkKinds ?? []) },
    });
  }

  private ownerTag(view: NodeView): string {
    return this.options.owner ?? this.options.localAddress ?? view.advertiseAddr;
  }

  private observe(view: NodeView, adopted: AdoptedNetnsQuery, only?: ScopedRead): Promise<ObservedKernel> {
    return this.read(this.ownerTag(view), adopted, only);
  }

  private read(ownerTag: string, adopted: AdoptedNetnsQuery, only?: ScopedRead): Promise<ObservedKernel> {
    const query = { networkNetnsPrefix: networkNetnsPrefix(ownerTag), firewallTable: FIREWALL_TABLE, adopted };
    return this.kernel.observe(only === undefined ? query : { ...query, only });
  }

  /**
   * What a scoped pass reads: the scope's namespaces, and the host links it may write (the bridges
   * of the host, its sandboxes' egress ends and their bridge networks' veth ends, VLAN parents) or
   * looks at (the view's LAN parents and their bases).
   */
  private scopedRead(view: NodeView, scope: PassScope, wanted: readonly DesiredKernel[]): ScopedRead {
    const egressEnds = wanted.flatMap((kernel) => kernel.sandboxes)
      .filter((sandbox) => scope.sandboxes.has(sandbox.netns))
      .flatMap((sandbox) => sandbox.egress?.hostName ?? []);
    const bridgeEnds = wanted.flatMap((kernel) => kernel.endpoints)
      .filter((endpoint) => endpoint.networkNetns === undefined && scope.sandboxes.has(endpoint.netns))
      .map((endpoint) => endpoint.hostName);
    const bridges = wanted.flatMap((kernel) => kernel.localBridges.map((bridge) => bridge.name));
    const lan = [...lanHostInterfaces(view.networks), ...wanted.flatMap((kernel) => kernel.vlans.map((vlan) => vlan.name))];
    return { ...scope, hostLinks: new Set([this.options.underlayDevice, GATEWAY_BRIDGE, ...bridges, ...egressEnds, ...bridgeEnds, ...lan]) };
  }

  private converge(target: DesiredKernel, observed: ObservedKernel): Promise<Omit<ReconcileResult, 'skipped' | 'unprogrammedEndpointIds' | 'pass'>> {
    return this.apply(plan(target, observed));
  }

  private async apply(actions: KernelAction[]): Promise<Omit<ReconcileResult, 'skipped' | 'unprogrammedEndpointIds' | 'pass'>> {
    await this.kernel.apply(actions);
    return { writes: actions.length, actions: actions.map(describeAction), applied: actions };
  }
}

function hostLinkNames(observed: ObservedKernel): Set<string> {
  return new Set(observed.hostLinks.map((link) => link.name));
}

function underlayOf(observed: ObservedKernel, options: ReconcilerOptions): ObservedLink {
  const underlay = observed.hostLinks.find((link) => link.name === options.underlayDevice);
  if (underlay === undefined) throw new Error(`underlay device ${options.underlayDevice} not found`);
  return underlay;
}

/** The adopted namespaces of the scope's sandboxes. */
function adoptedWithin(query: AdoptedNetnsQuery, scope: PassScope): AdoptedNetnsQuery {
  const attached = query.attached.map((netns, index) => ({ netns, pid: query.pids[index] ?? 0 })).filter(({ netns }) => scope.sandboxes.has(netns));
  return {
    foreign: query.foreign.filter((netns) => scope.sandboxes.has(netns)),
    attached: attached.map(({ netns }) => netns),
    pids: attached.map(({ pid }) => pid),
  };
}

/**
 * The egress address each sandbox holds, to keep it: as the last pass left it (`basis`), or as
 * read now, which wins.
 */
function heldEgressAddresses(basis: readonly DesiredSandbox[], observed: readonly ObservedSandbox[]): Map<string, string> {
  const held = new Map<string, string>();
  for (const sandbox of basis) if (sandbox.egress !== undefined) held.set(sandbox.netns, addressOnly(sandbox.egress.address));
  for (const sandbox of observed) {
    const address = sandbox.links.find((link) => link.name === EGRESS_INTERFACE)?.addresses[0];
    if (address !== undefined) held.set(sandbox.netns, addressOnly(address));
  }
  return held;
}
