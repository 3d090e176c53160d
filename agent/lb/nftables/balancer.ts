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
 * sandbox namespace a table `ip trellis_lb` whose nat output chain looks up VIP . protocol . port
 * in a verdict map and jumps to that VIP-port's chain, which DNATs to
 * `numgen random mod N map @<service>-backends` (the accepting backends). A backend change is a
 * few map elements and that chain's one rule; the rest of the table is never rewritten.
 */
export class NftablesBalancer implements LoadBalancer<ObservedLb, NftLbChange> {
  readonly engine = 'nftables';

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
