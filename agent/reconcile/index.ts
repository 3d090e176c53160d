export { Reconciler } from './reconciler';
export type { PlannedPass, ReconcileResult, ReconcilerOptions, Survey } from './reconciler';
export { DEFAULT_GATEWAY_SUBNET, desired, parseGatewaySubnet, VXLAN_OVERHEAD, VXLAN_PORT } from './desired';
export type { DesiredOptions, DesiredResult } from './desired';
export { plan, ATTACHED_TAG_PREFIX, OWNER_TAG_PREFIX } from './plan';
export { parseOwnerTag } from './plan-sandbox';
