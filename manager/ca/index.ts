/** The cluster CA: the root certificate, issuing node certificates, and who may call what. */
export { createRootCa, type PemKeyPair } from './root-ca';
export { issueCertificate, type IssueRequest } from './issue';
export { authorizationInterceptor, callerIdentity } from './authorization';
export { revokedDenial, type AuthorizationRules, type RevocationCheck } from './authorization-rules';
export { certificateAuthorityService, signAndRecord, signNodeCertificate, DEFAULT_JOINS_PER_MINUTE } from './ca-service';
export { bootstrapStore, initCluster, joinToken, removeBootstrap, MANAGER_TLS_DIR, type ClusterInitOptions, type ClusterInitResult } from './cluster-init';
export { managerAccessRules } from './access-rules';
