import { KernelAction } from './actions';
import { ObserveQuery, ObservedKernel } from './model';

/** The reconciler's only door to the kernel: read everything once, write a planned list. */
export interface Kernel {
  /** Reads everything the agent owns, plus the adopted namespaces asked for. */
  observe(query: ObserveQuery): Promise<ObservedKernel>;
  /**
   * Applies every action in order (deletes in namespaces of their own may overlap: see
   * concurrentGroups); throws KernelApplyError after trying all of them if any failed. A delete of
   * what the kernel had removed already is no failure.
   */
  apply(actions: readonly KernelAction[]): Promise<void>;
}

export class KernelApplyError extends Error {
  constructor(readonly failures: readonly string[]) {
    super(`kernel writes failed:\n${failures.join('\n')}`);
    this.name = 'KernelApplyError';
  }
}
