import { status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CertificateAuthorityClient, type NodeCertificate } from '../../gen/trellis/v1/ca';
import { callUnary } from '../unary-call';
import { fetchPinnedRootCa } from './fetch-root-ca';
import { channelCredentials, providerChannelCredentials, type MutableCertificateProvider } from './grpc-credentials';
import { validity } from './identity';
import { JoinTokenError, parseJoinToken } from './join-token';
import { createKeyAndCsr } from './node-key';
import { renewalDelayMs } from './renewal';
import { certificateChainPem, readTlsDir, writeTlsDir, type TlsMaterial } from './tls-dir';
import { certificatesOf, signedBy, withChain } from './trust';
import { managerChannelOptions } from './channel-options';

export { MANAGER_SERVER_NAME, managerChannelOptions } from './channel-options';

const callTimeoutMs = 10_000;

function hostAndPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/**
 * A node's first certificate, got with a join token: the CA certificate is
 * fetched from a manager and accepted only if its digest is the one the token
 * pins; then the manager signs a request for a key made here. Managers are
 * tried in turn; a refused token stops at once (another manager would refuse it too).
 */
export async function joinWithToken(managers: readonly string[], token: string): Promise<TlsMaterial & { nodeId: string; role: string }> {
  const { caDigest } = parseJoinToken(token);
  const failures: string[] = [];
  for (const address of managers) {
    try {
      const caPem = await fetchPinnedRootCa({ ...hostAndPort(address), caDigest, timeoutMs: callTimeoutMs });
      const { keyPem, csrPem } = await createKeyAndCsr();
      const client = new CertificateAuthorityClient(address, channelCredentials({ caPem }), managerChannelOptions);
      try {
        const issued = await callUnary(client, (c) => c.issueNodeCertificate, { joinToken: token, csrPem }, callTimeoutMs);
        return { ...issuedMaterial(issued, keyPem), nodeId: issued.nodeId, role: issued.role };
      } finally {
        client.close();
      }
    } catch (error) {
      const code = (error as Partial<ServiceError>).code;
      if (code === status.UNAUTHENTICATED || code === status.INVALID_ARGUMENT) throw new JoinTokenError((error as ServiceError).details);
      failures.push(`${address}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`could not join through any manager:\n  ${failures.join('\n  ')}`);
}

/** What a node keeps of a certificate the CA issued: the trust bundle, the certificate with its chain, the key. */
export function issuedMaterial(issued: NodeCertificate, keyPem: string): TlsMaterial {
  return { caPem: issued.caCertificatePem, certPem: withChain(issued.certificatePem, issued.chainPem), keyPem };
}

/**
 * The certificate in `dir`, or a new one got with `token` (and written there) when
 * the node has none yet. Without either, a clear error names both ways out.
 */
export async function ensureNodeCertificate(dir: string, managers: readonly string[], token: string | undefined, logger: Logger): Promise<TlsMaterial> {
  const held = readTlsDir(dir, 'node');
  if (held) return held;
  if (!token) {
    throw new JoinTokenError(
      `--join-token-file: this node has no certificate in ${dir} yet; give the token \`trellis cluster join-token worker\` prints (--join-token-file PATH or TRELLIS_JOIN_TOKEN)`,
    );
  }
  const joined = await untilJoined(managers, token, logger);
  writeTlsDir(dir, 'node', joined);
  logger.info({ nodeId: joined.nodeId, role: joined.role, dir }, 'joined the cluster: node certificate issued');
  return joined;
}

const joinRetryMs = 1_000;

/** A node may start before its managers: it keeps trying until one answers (a refused token ends it). */
async function untilJoined(managers: readonly string[], token: string, logger: Logger): Promise<TlsMaterial & { nodeId: string; role: string }> {
  for (;;) {
    try {
      return await joinWithToken(managers, token);
    } catch (error) {
      if (error instanceof JoinTokenError) throw error;
      logger.warn({ err: error, retryMs: joinRetryMs }, 'no manager answered the join; retrying');
      await new Promise((resolve) => setTimeout(resolve, joinRetryMs));
    }
  }
}

/** Signs a renewal request: over the CA service for agents, with the local CA for managers. */
export type RenewCertificate = (csrPem: string) => Promise<NodeCertificate>;

/** The CA service of the managers, authenticated by the certificate being renewed. */
export function renewThroughManagers(managers: () => string, provider: MutableCertificateProvider): RenewCertificate {
  return async (csrPem) => {
    const client = new CertificateAuthorityClient(managers(), providerChannelCredentials(provider), managerChannelOptions);
    try {
      return await callUnary(client, (c) => c.renewNodeCertificate, { csrPem }, callTimeoutMs);
    } finally {
      client.close();
    }
  };
}

const retryMs = 30_000;

/**
 * Renews the node's certificate at two thirds of its lifetime, writes it to `dir`
 * and hands it to `provider`, so new connections use it; retries every 30 s on failure.
 * It also follows the cluster's trust bundle (`trust`): a root CA rotation changes the
 * roots to verify peers with, and makes the node renew at once onto the new root.
 */
export class CertificateRenewer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private renewing = false;
  private current: TlsMaterial | undefined;
  /** A bundle `trust` was given while a renewal was under way: checked again once that renewal is done. */
  private deferred: string | undefined;
  /** The bundle whose signing root the current certificate is known to come from: managers call `trust` after every write. */
  private signedUnder: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly provider: MutableCertificateProvider,
    private readonly renew: RenewCertificate,
    private readonly logger: Logger,
  ) {}

  start(current: TlsMaterial): void {
    this.current = current;
    this.signedUnder = undefined;
    const { notBefore, notAfter } = validity(current.certPem);
    clearTimeout(this.timer);
    this.schedule(renewalDelayMs({ notBefore, notAfter, now: new Date() }));
  }

  /**
   * The roots the cluster trusts now, signing root first (from the store on a manager, from
   * the session on an agent): new connections verify peers with them, and a certificate the
   * signing root did not sign is renewed at once.
   */
  trust(bundlePem: string): void {
    const current = this.current;
    if (!current || this.stopped || bundlePem === this.signedUnder) return;
    if (bundlePem !== current.caPem) {
      // With one root there is no rotation: the cross-signed root kept after the certificate is
      // dropped, for a joining node finds the root its token pins only in a chain without it.
      const certPem = certificatesOf(bundlePem).length > 1 ? current.certPem : (certificatesOf(current.certPem)[0] ?? current.certPem);
      this.current = { ...current, caPem: bundlePem, certPem };
      writeTlsDir(this.dir, 'node', this.current);
      this.provider.setCa(bundlePem);
      this.provider.setIdentity(current.keyPem, certificateChainPem(certPem, bundlePem));
      this.logger.info({ roots: certificatesOf(bundlePem).length }, 'cluster trust bundle changed');
    }
    if (signedBy(current.certPem, bundlePem)) {
      this.signedUnder = bundlePem;
      return;
    }
    if (this.renewing) {
      // That renewal may have been signed before the root changed.
      this.deferred = bundlePem;
      return;
    }
    this.logger.info('certificate not signed by the signing root CA; renewing now');
    clearTimeout(this.timer);
    void this.renewNow();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    // setTimeout holds at most 2^31−1 ms (24.8 days); a longer wait is taken in steps.
    const step = Math.min(delayMs, 2 ** 31 - 1);
    this.timer = setTimeout(() => (step < delayMs ? this.schedule(delayMs - step) : void this.renewNow()), step);
    this.timer.unref();
  }

  private async renewNow(): Promise<void> {
    this.renewing = true;
    try {
      const { keyPem, csrPem } = await createKeyAndCsr();
      const issued = await this.renew(csrPem);
      if (this.stopped) return;
      const material = issuedMaterial(issued, keyPem);
      writeTlsDir(this.dir, 'node', material);
      if (material.caPem !== this.current?.caPem) this.provider.setCa(material.caPem);
      this.provider.setIdentity(keyPem, certificateChainPem(material.certPem, material.caPem));
      this.logger.info({ notAfter: validity(issued.certificatePem).notAfter }, 'node certificate renewed');
      this.start(material);
      this.renewing = false;
      const deferred = this.deferred;
      this.deferred = undefined;
      if (deferred !== undefined) this.trust(deferred);
    } catch (error) {
      this.logger.warn({ err: error, retryMs }, 'node certificate renewal failed; retrying');
      this.schedule(retryMs);
    } finally {
      this.renewing = false;
    }
  }
}
