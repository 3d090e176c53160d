import { identityFromPeerCertificate } from './identity';

describe('identity from a TLS peer certificate', () => {
  it('reads CN, OU and O', () => {
    expect(identityFromPeerCertificate({ subject: { CN: 'node-1', OU: 'trellis-admin', O: 'cluster-a' } })).toEqual({
      nodeId: 'node-1',
      role: 'trellis-admin',
      clusterId: 'cluster-a',
    });
  });

  it('accepts fields Node gives as one-element arrays', () => {
    expect(identityFromPeerCertificate({ subject: { CN: ['node-1'], OU: ['trellis-worker'], O: ['cluster-a'] } })).toEqual({
      nodeId: 'node-1',
      role: 'trellis-worker',
      clusterId: 'cluster-a',
    });
  });

  it.each([
    ['no certificate', undefined],
    ['the empty object Node gives when the peer sent none', {}],
    ['an unknown role', { subject: { CN: 'node-1', OU: 'admins', O: 'cluster-a' } }],
    ['two roles', { subject: { CN: 'node-1', OU: ['trellis-worker', 'trellis-admin'], O: 'cluster-a' } }],
    ['no node id', { subject: { OU: 'trellis-worker', O: 'cluster-a' } }],
    ['no cluster id', { subject: { CN: 'node-1', OU: 'trellis-worker' } }],
  ])('finds none in %s', (_case, cert) => {
    expect(identityFromPeerCertificate(cert)).toBeUndefined();
  });
});
