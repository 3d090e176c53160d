export * from './actions';
export { CommandFailed, processRunner } from './command-runner';
export type { CommandRunner } from './command-runner';
export { IprouteKernel } from './iproute-kernel';
export type { IprouteKernelOptions } from './iproute-kernel';
export { KernelApplyError } from './kernel';
export type { Kernel } from './kernel';
export * from './model';
export * from './names';
