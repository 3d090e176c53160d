import type { AuthorizationRules } from './authorization-rules';

/**
 * Who may call what on a manager. Administrators (the CLI's certificate) drive
 * the Control API; managers call it too, forwarding reads that only the leader
 * can answer. Agents hold sessions; only managers speak Raft. Joining needs no
 * certificate (the token is checked inside), nor do health probes, which load
 * balancers send without one. Autolock and its key are the administrators' alone:
 * a manager never needs to ask another for the unlock key through the API.
 */
export const managerAccessRules: AuthorizationRules = {
  '/trellis.v1.Control/': ['trellis-admin', 'trellis-manager'],
  '/trellis.v1.Control/UpdateCluster': ['trellis-admin'],
  '/trellis.v1.Control/GetUnlockKey': ['trellis-admin'],
  '/trellis.v1.Control/RotateUnlockKey': ['trellis-admin'],
  '/trellis.v1.Control/UnlockManager': ['trellis-admin'],
  '/trellis.v1.Dispatcher/': ['trellis-worker', 'trellis-manager'],
  '/trellis.v1.Raft/': ['trellis-manager'],
  '/trellis.v1.CertificateAuthority/IssueNodeCertificate': 'anyone',
  '/trellis.v1.CertificateAuthority/RenewNodeCertificate': ['trellis-worker', 'trellis-manager', 'trellis-admin'],
  '/grpc.health.v1.Health/': 'anyone',
  '/grpc.reflection.': ['trellis-admin', 'trellis-manager', 'trellis-worker'],
};
