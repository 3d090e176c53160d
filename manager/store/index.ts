export { Store } from './store';
export type {
  AppliedValue,
  ApplyResult,
  Command,
  CommandOf,
  CommandValues,
  Connect,
  CreateNetwork,
  CreateSandbox,
  Disconnect,
  RegisterNode,
  RemoveNetwork,
  RemoveSandbox,
} from './commands';
export type { StoreError } from './errors';
export type { StoreSnapshot } from './state';
