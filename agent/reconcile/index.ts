export { Reconciler } from './reconciler';
export type { ReconcileResult, ReconcilerOptions } from './reconciler';
export { desired, VXLAN_OVERHEAD, VXLAN_PORT } from './desired';
export type { DesiredOptions, DesiredResult } from './desired';
export { plan, OWNER_TAG_PREFIX } from './plan';
