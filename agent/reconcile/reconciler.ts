import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { ReservedPort } from '../../proto/gen/trellis/v1/types';
import {
  AdoptedNetnsQuery,
  DesiredKernel,
  EGRESS_INTERFACE,
  FIREWALL_TABLE,
  IprouteKernel,
  Kernel,
  KernelAction,
  NO_ADOPTED_NETNS,
  ObservedKernel,
  describeAction,
  networkNetnsPrefix,
} from '../kernel';
import { checkAdoptedNamespaces } from './adopted-check';
import { DEFAULT_GATEWAY_SUBNET, desired, emptyKernel } from './desired';
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
}

/** Makes the kernel match a node view, level-triggered: every pass reads everything and diffs. */
export class Reconciler {
  constructor(
    private readonly options: ReconcilerOptions,
    private readonly kernel: Kernel = new IprouteKernel(),
  ) {}

  /** Throws (KernelApplyError, or an Error when the underlay is missing) if the kernel may not match. */
  async reconcile(view: NodeView): Promise<ReconcileResult> {
    const ownerTag = this.options.owner ?? this.options.localAddress ?? view.advertiseAddr;
    const observed = await this.observe(ownerTag, adoptedNetnsQuery(view));
    const underlay = observed.hostLinks.find((link) => link.name === this.options.underlayDevice);
    if (underlay === undefined) throw new Error(`underlay device ${this.options.underlayDevice} not found`);
    const target = desired(view, {
      underlayDevice: this.options.underlayDevice,
      underlayMtu: underlay.mtu,
      localAddress: this.options.localAddress,
      ownerTag,
      gatewaySubnet: this.options.gatewaySubnet ?? DEFAULT_GATEWAY_SUBNET,
      heldEgressAddresses: heldEgressAddresses(observed),
      reservedPorts: this.options.reservedPorts,
    });
    const programmable = checkAdoptedNamespaces(target.kernel, observed);
    return { ...(await this.converge(programmable.kernel, observed)), skipped: [...target.skipped, ...programmable.skipped] };
  }

  /**
   * Deletes every link with our prefixes in the host namespace, our network namespaces (so our
   * veths leave adopted namespaces too), the firewall table, and every sandbox namespace tagged
   * with our owner (none when neither `owner` nor `localAddress` was given); for an attached
   * process's namespace that only unmounts its name.
   */
  async removeAll(): Promise<ReconcileResult> {
    const nothing = emptyKernel(this.options.owner ?? this.options.localAddress ?? '');
    return { ...(await this.converge(nothing, await this.observe(nothing.ownerTag, NO_ADOPTED_NETNS))), skipped: [] };
  }

  private observe(ownerTag: string, adopted: AdoptedNetnsQuery): Promise<ObservedKernel> {
    return this.kernel.observe({ networkNetnsPrefix: networkNetnsPrefix(ownerTag), firewallTable: FIREWALL_TABLE, adopted });
  }

  private async converge(
    target: DesiredKernel,
    observed: ObservedKernel,
  ): Promise<Omit<ReconcileResult, 'skipped'>> {
    const actions = plan(target, observed);
    await this.kernel.apply(actions);
    return { writes: actions.length, actions: actions.map(describeAction), applied: actions };
  }
}

/** The egress address each sandbox holds now, to keep it. */
function heldEgressAddresses(observed: ObservedKernel): Map<string, string> {
  const held = new Map<string, string>();
  for (const sandbox of observed.sandboxes) {
    const address = sandbox.links.find((link) => link.name === EGRESS_INTERFACE)?.addresses[0];
    if (address !== undefined) held.set(sandbox.netns, address.slice(0, address.indexOf('/')));
  }
  return held;
}
