/** The cluster CA: the root certificate, issuing node certificates, and who may call what. */
export { createRootCa, type PemKeyPair } from './root-ca';
export { issueCertificate, type IssueRequest } from './issue';
export { authorizationInterceptor, callerIdentity } from './authorization';
export type { AuthorizationRules } from './authorization-rules';
export { certificateAuthorityService, signNodeCertificate } from './ca-service';
export { bootstrapStore, initCluster, joinToken, removeBootstrap, MANAGER_TLS_DIR, type ClusterInitOptions, type ClusterInitResult } from './cluster-init';
export { managerAccessRules } from './access-rules';
