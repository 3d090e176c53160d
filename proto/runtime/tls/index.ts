/** What every node needs to speak mTLS to the managers: keys and CSRs, join tokens, the pinned CA fetch, and gRPC credentials. */
export { createKeyAndCsr } from './node-key';
export { identityFromPem, identityFromPeerCertificate, isNodeRole, validity, NODE_ROLES, type NodeIdentity, type NodeRole } from './identity';
export { caDigest, formatJoinToken, newJoinSecret, parseJoinToken, roleForToken, JoinTokenError, type JoinRole, type JoinSecrets } from './join-token';
export { renewalDelayMs } from './renewal';
export { fetchPinnedRootCa, type PinnedCaSource } from './fetch-root-ca';
export { MutableCertificateProvider, serverCredentials, channelCredentials, type ChannelMaterial } from './grpc-credentials';
export { providerChannelCredentials } from './grpc-credentials';
export { certificateChainPem, readCaCertificate, readTlsDir, tlsFiles, writeTlsDir, type TlsMaterial } from './tls-dir';
export { CertificateRenewer, ensureNodeCertificate, joinWithToken, managerChannelOptions, renewThroughManagers, type RenewCertificate } from './node-certificate';
export { certificatesOf, signedBy, withChain } from './trust';
