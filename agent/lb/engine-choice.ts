import type { CommandRunner } from '../kernel';
import { detectIpvs, IpvsBalancer } from './ipvs-balancer';
import type { LoadBalancer } from './model';
import { createNftablesBalancer } from './nftables';

/** `--lb`: auto takes IPVS where the kernel has it, else nftables. */
export type LbEngineChoice = 'auto' | 'ipvs' | 'nftables';

/**
 * The engine the agent balances services with. A forced `ipvs` on a kernel without it is refused
 * at start rather than left to fail in every namespace later.
 */
export async function chooseBalancer(choice: LbEngineChoice, runner: CommandRunner): Promise<LoadBalancer<unknown, unknown>> {
  const hasIpvs = choice === 'nftables' ? false : await detectIpvs(runner);
  if (choice === 'ipvs' && !hasIpvs) {
    throw new Error('--lb ipvs: this kernel has no IPVS (no /proc/net/ip_vs, and ipvsadm -Ln fails); use --lb nftables or leave --lb out');
  }
  return hasIpvs ? new IpvsBalancer(runner) : createNftablesBalancer();
}
