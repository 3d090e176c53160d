import { createHash, X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate } from 'node:tls';

export interface PinnedCaSource {
  host: string;
  port: number;
  /** The CA digest from the join token. */
  caDigest: string;
  timeoutMs: number;
}

/** The presented certificates, leaf first; a self-signed root links to itself, which ends the walk. */
function presentedChain(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  for (let cert: DetailedPeerCertificate | undefined = leaf; cert?.raw && !chain.includes(cert); cert = cert.issuerCertificate) {
    chain.push(cert);
  }
  return chain;
}

/**
 * The pinned CA as PEM, if the chain holds it and every certificate from the leaf up to it
 * was signed by the next (during a root rotation: leaf, the new root cross-signed, the old root).
 */
function pinnedCa(leaf: DetailedPeerCertificate, digest: string): string | undefined {
  const chain = presentedChain(leaf).map((cert) => ({ cert: new X509Certificate(cert.raw), digest: createHash('sha256').update(cert.raw).digest('hex') }));
  const pinned = chain.findIndex((cert) => cert.digest === digest);
  if (pinned < 0) return undefined;
  for (let i = 0; i < pinned; i += 1) {
    const [child, parent] = [chain[i].cert, chain[i + 1].cert];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) return undefined;
  }
  return chain[pinned].cert.toString();
}

/*
 * A joining node has no CA to verify the manager with yet, so it accepts any
 * certificate and trusts only what matches the digest in its join token: the
 * same trust-on-first-use-with-a-pin that Swarm's join does.
 */
export function fetchPinnedRootCa(source: PinnedCaSource): Promise<string> {
  const where = `${source.host}:${source.port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: source.host, port: source.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const finish = (outcome: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`fetching the cluster CA from the manager at ${where}: no TLS handshake within ${source.timeoutMs} ms`))),
      source.timeoutMs,
    );
    socket.once('error', (error) =>
      finish(() => reject(new Error(`fetching the cluster CA from the manager at ${where}: ${error.message}`))),
    );
    socket.once('secureConnect', () => {
      const caPem = pinnedCa(socket.getPeerCertificate(true), source.caDigest);
      finish(() =>
        caPem === undefined
          ? reject(new Error(`the manager at ${where} does not present the CA this join token pins; wrong token or wrong manager`))
          : resolve(caPem),
      );
    });
  });
}
