export { LbApplyError, NftablesBalancer, createNftablesBalancer } from './balancer';
export { LB_TABLE } from './names';
export type { NftLbChange } from './plan';
export { rebuildTransaction } from './plan';
export type { ObservedLb, ObservedTable } from './table';
