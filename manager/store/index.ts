export { Store } from './store';
export { checkCommand } from './command-schema';
export type { NetworkEndpointsCache } from './views';
export { concernsNode, type Changes } from './journal';
export type {
  AppliedValue,
  ApplyResult,
  Command,
  CommandOf,
  CommandValues,
  Connect,
  CreateNetwork,
  CreateSandbox,
  CreateService,
  Disconnect,
  FinishDrain,
  FinishRootRotation,
  InitSecurity,
  IpamRequest,
  PortRequest,
  PublishedPortRequest,
  RecordCertificate,
  RegisterNode,
  ReservedPortRequest,
  RemoveNetwork,
  RemoveNode,
  RemoveSandbox,
  RemoveService,
  Revocation,
  RevokeNode,
  RotateJoinSecret,
  RotateRootCa,
  SetDefaultAddressPools,
  SetNodeGossipKey,
  UpdateService,
  UpdateNode,
} from './commands';
export type { Result, StoreError } from './errors';
// The CLI refuses values out of these ranges before sending, naming its flag.
export { LIMITS, MTU_RANGE, PORT_RANGE, VNI_RANGE } from './limits';
export { refuseReserved, type Reservation } from './reserved-ports';
export { BUILT_IN_ADDRESS_POOLS, type AddressPoolRecord, type ClusterSecurityRecord, type IssuedCertificateRecord, type JoinRole, type RevokedNodeRecord, type RootRotationRecord, type StoreSnapshot } from './state';
// The CLI sorts --aux-address values into their --subnet the way the store reads them.
export { cidrContains, parseCidr, parseIpv4 } from '../../proto/runtime/ipv4';
