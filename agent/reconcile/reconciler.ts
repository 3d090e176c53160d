import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { DesiredKernel, IprouteKernel, Kernel, KernelAction, ObservedKernel, describeAction } from '../kernel';
import { checkAdoptedNamespaces } from './adopted-check';
import { desired, emptyKernel } from './desired';
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
    const observed = await this.kernel.observe(adoptedNetnsQuery(view));
    const underlay = observed.hostLinks.find((link) => link.name === this.options.underlayDevice);
    if (underlay === undefined) throw new Error(`underlay device ${this.options.underlayDevice} not found`);
    const target = desired(view, {
      underlayDevice: this.options.underlayDevice,
      underlayMtu: underlay.mtu,
      localAddress: this.options.localAddress,
      ownerTag: this.options.owner ?? this.options.localAddress ?? view.advertiseAddr,
    });
    const programmable = checkAdoptedNamespaces(target.kernel, observed);
    return { ...(await this.converge(programmable.kernel, observed)), skipped: [...target.skipped, ...programmable.skipped] };
  }

  /**
   * Deletes every link with our prefixes in the host namespace (so our veths leave adopted
   * namespaces too) and every sandbox namespace tagged with our owner (none when neither `owner`
   * nor `localAddress` was given); for an attached process's namespace that only unmounts its name.
   */
  async removeAll(): Promise<ReconcileResult> {
    const nothing = emptyKernel(this.options.owner ?? this.options.localAddress ?? '');
    return { ...(await this.converge(nothing, await this.kernel.observe())), skipped: [] };
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
