import type { NodeView } from '../proto/gen/trellis/v1/dispatcher';
import type { ConvergeTarget } from './converge-loop';
import type { PlannedPass, ReconcileResult, Reconciler, Survey } from './reconcile';

/**
 * The Reconciler as the converge loop drives it. `afterPass` runs after each pass that wrote the
 * kernel for a view (the agent keeps the sandboxes' files there) and gives the pass's result.
 */
export function reconcilerTarget(
  reconciler: Reconciler,
  afterPass: (view: NodeView, result: ReconcileResult) => ReconcileResult | Promise<ReconcileResult> = (_view, result) => result,
): ConvergeTarget<Survey, PlannedPass | undefined> {
  return {
    reconcileChange: async (view) => afterPass(view, await reconciler.reconcileChange(view)),
    survey: (view) => reconciler.survey(view),
    planSurveyed: (view, survey) => reconciler.planSurveyed(view, survey),
    applyPlanned: async (view, planned) => {
      const applied = await reconciler.applyPlanned(planned);
      return applied === undefined ? undefined : afterPass(view, applied);
    },
    reconcileSurveyed: async (view, survey) => afterPass(view, await reconciler.reconcileSurveyed(view, survey)),
  };
}
