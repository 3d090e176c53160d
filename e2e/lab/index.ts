/** The lab's public face for scenario tests; the command line is main.ts. */
export { defaultContext, type LabContext } from './context';
export { down, execInHost, startHost, status, stopHost, up, type UpOptions } from './lab';
export type { HostRole } from './plan';
export type { HostState, LabState } from './state';
