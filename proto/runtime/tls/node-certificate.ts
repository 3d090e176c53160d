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

/** The DNS name every manager certificate carries, whatever the manager's address. */
export const MANAGER_SERVER_NAME = 'trellis-manager';

/**
 * Channel options for every client of a manager. Certificates name nodes, not
 * addresses, so the TLS server name is a fixed word: Node refuses an IP address
 * there (DEP0123), and the role check replaces the host-name check.
 */
export const managerChannelOptions = { 'grpc.ssl_target_name_override': MANAGER_SERVER_NAME } as const;

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
        return { caPem: issued.caCertificatePem, certPem: issued.certificatePem, keyPem, nodeId: issued.nodeId, role: issued.role };
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
 */
export class CertificateRenewer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly provider: MutableCertificateProvider,
    private readonly renew: RenewCertificate,
    private readonly logger: Logger,
  ) {}

  start(current: TlsMaterial): void {
    const { notBefore, notAfter } = validity(current.certPem);
    this.schedule(renewalDelayMs({ notBefore, notAfter, now: new Date() }));
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
    try {
      const { keyPem, csrPem } = await createKeyAndCsr();
      const issued = await this.renew(csrPem);
      const material = { caPem: issued.caCertificatePem, certPem: issued.certificatePem, keyPem };
      writeTlsDir(this.dir, 'node', material);
      this.provider.setIdentity(keyPem, certificateChainPem(issued.certificatePem, issued.caCertificatePem));
      this.logger.info({ notAfter: validity(issued.certificatePem).notAfter }, 'node certificate renewed');
      this.start(material);
    } catch (error) {
      this.logger.warn({ err: error, retryMs }, 'node certificate renewal failed; retrying');
      this.schedule(retryMs);
    }
  }
}
