import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { crossSign, createRootCa, type PemKeyPair } from './root-ca';
import { nodeMaterial, type NodeMaterial } from './test-pki';
import { trustBundlePem } from './root-rotation';
import { withChain } from '../../proto/runtime/tls/trust';
import { certificateChainPem } from '../../proto/runtime/tls/tls-dir';

/** Whether each side of a TLS connection verified the other's chain against the roots it trusts. */
async function handshake(server: { chain: string; key: string; ca: string }, client: { chain: string; key: string; ca: string }) {
  const tls = createServer({ cert: server.chain, key: server.key, ca: server.ca, requestCert: true, rejectUnauthorized: false });
  // The server answers once its side of the handshake is done, so the client does not hang up before.
  const serverSaw = new Promise<boolean>((resolve) =>
    tls.once('secureConnection', (socket: TLSSocket) => {
      resolve(socket.authorized);
      socket.end('done');
    }),
  );
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  const { port } = tls.address() as AddressInfo;
  try {
    const clientSaw = await new Promise<boolean>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, cert: client.chain, key: client.key, ca: client.ca, rejectUnauthorized: false, checkServerIdentity: () => undefined });
      socket.once('data', () => {
        resolve(socket.authorized);
        socket.destroy();
      });
      socket.once('error', reject);
    });
    return { clientSaw, serverSaw: await serverSaw };
  } finally {
    tls.close();
  }
}

describe('the cross-signed root of a rotation', () => {
  let oldRoot: PemKeyPair;
  let newRoot: PemKeyPair;
  let crossSigned: string;
  let onOld: NodeMaterial;
  let onNew: NodeMaterial;
  beforeAll(async () => {
    oldRoot = await createRootCa({ clusterId: 'cluster-test' });
    newRoot = await createRootCa({ clusterId: 'cluster-test', commonName: 'trellis-root-ca-2' });
    crossSigned = await crossSign(newRoot.certPem, oldRoot);
    onOld = await nodeMaterial(oldRoot, 'trellis-manager', 'old-node');
    onNew = await nodeMaterial(newRoot, 'trellis-manager', 'new-node');
  });

  it('lets a peer that trusts only the old root accept a certificate of the new root, both ways', async () => {
    // As a manager serves it during the rotation: leaf, cross-signed root, the bundle (new root first).
    const bundle = trustBundlePem({ caCertPem: newRoot.certPem, rotation: { previousCaCertPem: oldRoot.certPem, crossSignedCaPem: crossSigned } });
    const rotated = { chain: certificateChainPem(withChain(onNew.certPem, crossSigned), bundle), key: onNew.keyPem, ca: bundle };
    const stale = { chain: onOld.certChainPem, key: onOld.keyPem, ca: oldRoot.certPem };
    expect(await handshake(rotated, stale)).toEqual({ clientSaw: true, serverSaw: true });
    expect(await handshake(stale, rotated)).toEqual({ clientSaw: true, serverSaw: true });
  });

  it('is needed: without it, a peer that trusts only the old root refuses the new one', async () => {
    const rotated = { chain: certificateChainPem(onNew.certPem, newRoot.certPem), key: onNew.keyPem, ca: newRoot.certPem };
    const stale = { chain: onOld.certChainPem, key: onOld.keyPem, ca: oldRoot.certPem };
    expect(await handshake(rotated, stale)).toEqual({ clientSaw: false, serverSaw: false });
  });
});
