import { status } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { CertificateAuthorityClient } from '../proto/gen/trellis/v1/ca';
import { DispatcherClient, RegisterRequest } from '../proto/gen/trellis/v1/dispatcher';
import { ControlClient, ListNetworksRequest } from '../proto/gen/trellis/v1/control';
import {
  channelCredentials,
  createKeyAndCsr,
  identityFromPem,
  joinWithToken,
  managerChannelOptions,
  readTlsDir,
  validity,
  type TlsMaterial,
} from '../proto/runtime/tls';
import { callUnary } from '../proto/runtime/unary-call';
import { refused } from './api/refused';
import { TestManager } from './test-manager';

/** A real manager over gRPC with mutual TLS, allowing two joins a minute per token. */
const timeoutMs = 10_000;

describe('issuing certificates: recorded, and rate-limited per join token', () => {
  let cluster: TestManager;
  const manager = () => cluster.manager;
  const track = <C extends { close(): void }>(client: C): C => cluster.track(client);
  const admin = () => cluster.admin();
  const serialOf = (material: TlsMaterial) => new X509Certificate(material.certPem).serialNumber.toLowerCase();

  beforeAll(async () => {
    cluster = await TestManager.start('trellis-issuing-', { joinsPerMinute: 2 });
  });
  afterAll(() => cluster.close());

  it("shows a node's current certificate, who asked for it and until when, through joining and renewal", async () => {
    const tokens = await callUnary(admin(), (c) => c.getJoinTokens, {}, timeoutMs);
    const joined = await joinWithToken([manager().address], tokens.worker);
    const dispatcher = track(new DispatcherClient(manager().address, channelCredentials(joined), managerChannelOptions));
    await callUnary(dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: 'w1', advertiseAddr: '198.18.0.51' }), timeoutMs);
    const inspect = () => callUnary(admin(), (c) => c.getNode, { node: 'w1' }, timeoutMs);
    expect(await inspect()).toMatchObject({
      certificateSerial: serialOf(joined),
      certificateNotAfter: new Date(new X509Certificate(joined.certPem).validTo).toISOString(),
      certificateRequestedBy: 'worker join token',
    });

    const ca = track(new CertificateAuthorityClient(manager().address, channelCredentials(joined), managerChannelOptions));
    const renewed = await callUnary(ca, (c) => c.renewNodeCertificate, { csrPem: (await createKeyAndCsr()).csrPem }, timeoutMs);
    expect(await inspect()).toMatchObject({
      certificateSerial: new X509Certificate(renewed.certificatePem).serialNumber.toLowerCase(),
      certificateRequestedBy: 'renewal by its own certificate',
    });
  });

  it('refuses a join token past its rate with RESOURCE_EXHAUSTED, issuing nothing; the other token is not held back', async () => {
    const tokens = await callUnary(admin(), (c) => c.getJoinTokens, {}, timeoutMs);
    // The first test used one of the two this minute.
    await joinWithToken([manager().address], tokens.worker);
    const caPem = (await joinWithToken([manager().address], tokens.manager)).caPem;
    const anonymous = track(new CertificateAuthorityClient(manager().address, channelCredentials({ caPem }), managerChannelOptions));
    const refusal = await refused(callUnary(anonymous, (c) => c.issueNodeCertificate, { joinToken: tokens.worker, csrPem: (await createKeyAndCsr()).csrPem }, timeoutMs));
    expect(refusal.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refusal.details).toMatch(/^join_token: this manager issues at most 2 certificates a minute per join token; retry in \d+ s$/);
    expect(refusal.metadata.get('trellis-field')).toEqual(['join_token']);
  });

  it("renews the CLI's admin certificate for a year, same identity, while the old one keeps working", async () => {
    const old = readTlsDir(cluster.adminDir, 'admin');
    if (!old) throw new Error('no admin certificate');
    const { keyPem, csrPem } = await createKeyAndCsr();
    const ca = track(new CertificateAuthorityClient(manager().address, channelCredentials(old), managerChannelOptions));
    const renewed = await callUnary(ca, (c) => c.renewNodeCertificate, { csrPem }, timeoutMs);
    expect(identityFromPem(renewed.certificatePem)).toEqual(identityFromPem(old.certPem));
    const { notBefore, notAfter } = validity(renewed.certificatePem);
    expect(Math.round((notAfter.getTime() - notBefore.getTime()) / 86_400_000)).toBe(365);
    for (const material of [old, { caPem: renewed.caCertificatePem, certPem: renewed.certificatePem, keyPem }]) {
      const control = track(new ControlClient(manager().address, channelCredentials(material), managerChannelOptions));
      expect((await callUnary(control, (c) => c.listNetworks, ListNetworksRequest.fromPartial({}), timeoutMs)).networks).toEqual([]);
    }
  });
});
