import { X509Certificate } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { fetchPinnedRootCa } from '../../proto/runtime/tls/fetch-root-ca';
import { certificateChainPem } from '../../proto/runtime/tls/tls-dir';
import { caDigest } from '../../proto/runtime/tls/join-token';
import { createRootCa, crossSign, type PemKeyPair } from './root-ca';
import { withChain } from '../../proto/runtime/tls/trust';
import { nodeMaterial, testCa, type NodeMaterial } from './test-pki';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes the server and drops its connections, so no client, ours or a stray one, holds the test open. */
function closeable(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
}

describe('fetching the pinned root CA', () => {
  let ca: PemKeyPair;
  let manager: NodeMaterial;
  const closers: (() => Promise<void>)[] = [];
  afterAll(() => Promise.all(closers.map((close) => close())));

  /** A TLS server presenting `certChainPem`, as a manager would. */
  async function tlsServer(keyPem: string, certChainPem: string): Promise<number> {
    const server = createTlsServer({ key: keyPem, cert: certChainPem, ALPNProtocols: ['h2'] });
    // The client hangs up as soon as it has the certificates, which the server reports as an error.
    server.on('tlsClientError', () => undefined);
    closers.push(closeable(server));
    return listen(server);
  }

  beforeAll(async () => {
    ca = await testCa();
    manager = await nodeMaterial(ca, 'trellis-manager');
  });

  it('returns the CA from the presented chain when its digest matches the token', async () => {
    const port = await tlsServer(manager.keyPem, manager.certChainPem);
    const caPem = await fetchPinnedRootCa({ host: '127.0.0.1', port, caDigest: caDigest(ca.certPem), timeoutMs: 5000 });
    expect(caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(new X509Certificate(caPem).raw).toEqual(new X509Certificate(ca.certPem).raw);
  });

  it('refuses when no presented certificate has the pinned digest', async () => {
    const port = await tlsServer(manager.keyPem, manager.certChainPem);
    const other = await testCa('cluster-other');
    await expect(fetchPinnedRootCa({ host: '127.0.0.1', port, caDigest: caDigest(other.certPem), timeoutMs: 5000 })).rejects.toThrow(
      `the manager at 127.0.0.1:${port} does not present the CA this join token pins; wrong token or wrong manager`,
    );
  });

  it('refuses a server that shows the pinned CA next to a certificate that CA did not sign', async () => {
    const impostor = await nodeMaterial(await testCa('cluster-impostor'), 'trellis-manager');
    const port = await tlsServer(impostor.keyPem, certificateChainPem(impostor.certPem, ca.certPem));
    await expect(fetchPinnedRootCa({ host: '127.0.0.1', port, caDigest: caDigest(ca.certPem), timeoutMs: 5000 })).rejects.toThrow(
      'does not present the CA this join token pins',
    );
  });

  it("finds the old root behind the new root's cross-signed copy during a root rotation", async () => {
    const newRoot = await createRootCa({ clusterId: 'cluster-test', commonName: 'trellis-root-ca-2' });
    const rotated = await nodeMaterial(newRoot, 'trellis-manager');
    const chain = certificateChainPem(withChain(rotated.certPem, await crossSign(newRoot.certPem, ca)), `${newRoot.certPem.trim()}\n${ca.certPem}`);
    const port = await tlsServer(rotated.keyPem, chain);
    const caPem = await fetchPinnedRootCa({ host: '127.0.0.1', port, caDigest: caDigest(ca.certPem), timeoutMs: 5000 });
    expect(new X509Certificate(caPem).raw).toEqual(new X509Certificate(ca.certPem).raw);
  });

  it('names the address when nothing listens there', async () => {
    const unused = createTcpServer();
    const port = await listen(unused);
    await closeable(unused)();
    await expect(fetchPinnedRootCa({ host: '127.0.0.1', port, caDigest: caDigest(ca.certPem), timeoutMs: 5000 })).rejects.toThrow(
      `fetching the cluster CA from the manager at 127.0.0.1:${port}: connect ECONNREFUSED`,
    );
  });

  it('gives up when the server never completes a handshake', async () => {
    const silent = createTcpServer();
    closers.push(closeable(silent));
    const port = await listen(silent);
    await expect(fetchPinnedRootCa({ host: '127.0.0.1', port, caDigest: caDigest(ca.certPem), timeoutMs: 200 })).rejects.toThrow(
      `fetching the cluster CA from the manager at 127.0.0.1:${port}: no TLS handshake within 200 ms`,
    );
  });
});
