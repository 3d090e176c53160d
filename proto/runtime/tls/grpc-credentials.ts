import { type ChannelCredentials, credentials, experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { identityFromPeerCertificate, type NodeRole } from './peer-identity';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/**
 * The CA and this node's key and certificate chain, as grpc-js servers read
 * them. `setIdentity` after a renewal reaches every server using the provider,
 * so new connections get the new certificate without a restart.
 */
export class MutableCertificateProvider implements experimental.CertificateProvider {
  private caUpdate: experimental.CaCertificateUpdate;
  private identityUpdate: experimental.IdentityCertificateUpdate;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(material: { caPem: string; keyPem: string; certChainPem: string }) {
    this.caUpdate = { caCertificate: Buffer.from(material.caPem) };
    this.identityUpdate = { privateKey: Buffer.from(material.keyPem), certificate: Buffer.from(material.certChainPem) };
  }

  /** The roots to verify peers with, for connections made from now on (a root CA rotation). */
  setCa(caPem: string): void {
    this.caUpdate = { caCertificate: Buffer.from(caPem) };
    for (const listener of this.caListeners) listener(this.caUpdate);
  }

  setIdentity(keyPem: string, certChainPem: string): void {
    this.identityUpdate = { privateKey: Buffer.from(keyPem), certificate: Buffer.from(certChainPem) };
    for (const listener of this.identityListeners) listener(this.identityUpdate);
  }

  /*
   * grpc-js registers its listener before the watcher that applies updates to
   * the server, so the current value must arrive on a later tick to be seen
   * (its own FileWatcherCertificateProvider defers the same way).
   */
  addCaCertificateListener(listener: CaListener): void {
    deliverLater(this.caListeners, listener, () => this.caUpdate);
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    deliverLater(this.identityListeners, listener, () => this.identityUpdate);
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

/** Registers `listener` and hands it the current value on the next tick, unless it was removed meanwhile. */
function deliverLater<V>(listeners: Set<(value: V) => void>, listener: (value: V) => void, current: () => V): void {
  listeners.add(listener);
  process.nextTick(() => {
    if (listeners.has(listener)) listener(current());
  });
}

/*
 * Client certificates are requested but not required: a joining node calls
 * the join RPC before it has one. The authorization interceptor decides per
 * call what an unauthenticated caller may do.
 */
export function serverCredentials(provider: MutableCertificateProvider): ServerCredentials {
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** Shaped like a TLS directory's material, so that one is passed as it is. */
export interface ChannelMaterial {
  caPem: string;
  keyPem?: string;
  /** The client's certificate (a chain is accepted too). */
  certPem?: string;
  /** The role the server's certificate must carry; managers serve every Trellis API. */
  expectRole?: NodeRole;
}

/*
 * Host names are not checked: managers are dialled by IP and may move, and the
 * certificates carry node ids, not addresses (Swarm does the same). TLS still
 * verifies the chain against the cluster CA; the role check keeps a worker's
 * certificate from impersonating a manager.
 */
export function channelCredentials(material: ChannelMaterial): ChannelCredentials {
  const checkServerIdentity = serverRoleCheck(material.expectRole ?? 'trellis-manager');
  const optionalBuffer = (pem: string | undefined): Buffer | null => (pem === undefined ? null : Buffer.from(pem));
  return credentials.createSsl(
    Buffer.from(material.caPem),
    optionalBuffer(material.keyPem),
    optionalBuffer(material.certPem),
    { checkServerIdentity },
  );
}

/**
 * Like `channelCredentials`, reading this node's identity from a provider: after a
 * renewal, new connections present the new certificate. Servers are managers.
 */
export function providerChannelCredentials(provider: MutableCertificateProvider): ChannelCredentials {
  return experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity: serverRoleCheck('trellis-manager') });
}

function serverRoleCheck(expectRole: NodeRole): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const role = identityFromPeerCertificate(cert)?.role;
    return role === expectRole ? undefined : new Error(`the server's certificate has role ${role ?? '(none)'} where ${expectRole} was expected`);
  };
}
