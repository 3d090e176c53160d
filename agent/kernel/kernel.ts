import { KernelAction } from './actions';
import { ObserveQuery, ObservedKernel } from './model';

/** The reconciler's only door to the kernel: read everything once, write a planned list. */
export interface Kernel {
  /** Reads everything the agent owns, plus the adopted namespaces asked for. */
  observe(query: ObserveQuery): Promise<ObservedKernel>;
  /** Applies every action in order; throws KernelApplyError after trying all of them if any failed. */
  apply(actions: readonly KernelAction[]): Promise<void>;
}

export class KernelApplyError extends Error {
  constructor(readonly failures: readonly string[]) {
    super(`kernel writes failed:\n${failures.join('\n')}`);
    this.name = 'KernelApplyError';
  }
}
