import type { LoadBalancer, NamespaceBalancing } from '../model';
import { nativeNftLbKernel, type NftLbKernel } from './kernel-io';
import { NftLbChange, planBalancing } from './plan';
import type { ObservedLb } from './table';

/** Some namespaces' changes failed; the others were applied. */
export class LbApplyError extends Error {
  constructor(readonly failures: ReadonlyMap<string, string>) {
    super(`load balancing not applied in ${failures.size} namespace(s): ${[...failures].map(([netns, why]) => `${netns}: ${why.trim()}`).join('; ')}`);
    this.name = 'LbApplyError';
  }
}

/**
 * Client-side service balancing with nftables, in the style of kube-proxy's nftables mode: in each
 * sandbox namespace a table `ip trellis_lb` whose nat output chain looks up the destination
 * address in a verdict map and jumps to that VIP's chain, which DNATs the address only to
 * `numgen random mod N map @<service>-backends` (the accepting backends): every port and protocol
 * of the VIP, the port kept, as Docker's VIP forwards every port. A backend change is a few map
 * elements and that chain's rules; the rest of the table is never rewritten.
 */
export class NftablesBalancer implements LoadBalancer<ObservedLb, NftLbChange> {
  readonly engine = 'nftables';
  readonly vipPorts = 'every';

  constructor(private readonly kernel: NftLbKernel = nativeNftLbKernel) {}

  observe(netns: readonly string[]): Promise<Map<string, ObservedLb>> {
    return this.kernel.readTables(netns);
  }

  plan(desired: readonly NamespaceBalancing[], observed: ReadonlyMap<string, ObservedLb>): NftLbChange[] {
    return planBalancing(desired, observed);
  }

  async apply(changes: readonly NftLbChange[]): Promise<void> {
    const failures = await this.kernel.applyChanges(changes);
    if (failures.size > 0) throw new LbApplyError(failures);
  }
}

export function createNftablesBalancer(kernel: NftLbKernel = nativeNftLbKernel): NftablesBalancer {
  return new NftablesBalancer(kernel);
}
