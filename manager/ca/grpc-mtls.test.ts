import {
  Client,
  credentials,
  Metadata,
  Server,
  status,
  type ChannelCredentials,
  type handleUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { connect } from 'node:tls';
import { authorizationInterceptor, callerIdentity } from './authorization';
import type { AuthorizationRules } from './authorization-rules';
import { channelCredentials, MutableCertificateProvider, serverCredentials } from '../../proto/runtime/tls/grpc-credentials';
import type { PemKeyPair } from './root-ca';
import { nodeMaterial, testCa, type NodeMaterial } from './test-pki';

const HEALTH_CHECK = '/grpc.health.v1.Health/Check';
const ADMIN_ONLY = '/trellis.test.Probe/AdminOnly';
const WHO_AM_I = '/trellis.test.Probe/WhoAmI';
const UNLISTED = '/trellis.test.Unlisted/Ping';

const rules: AuthorizationRules = {
  '/grpc.health.v1.Health/': 'anyone',
  '/trellis.test.Probe/': ['trellis-admin'],
  [WHO_AM_I]: ['trellis-admin', 'trellis-worker'],
};

const bytes = (value: Buffer): Buffer => value;
const unaryBytesMethod = (path: string): ServiceDefinition[string] => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});

/** Answers with the caller's identity as the server sees it. */
const whoAmI: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
  callback(null, Buffer.from(JSON.stringify(callerIdentity(call) ?? null)));
};

async function startServer(provider: MutableCertificateProvider): Promise<{ server: Server; target: string }> {
  const server = new Server({ interceptors: [authorizationInterceptor(rules)] });
  new HealthImplementation({ '': 'SERVING' }).addToServer(server);
  server.addService({ AdminOnly: unaryBytesMethod(ADMIN_ONLY), WhoAmI: unaryBytesMethod(WHO_AM_I) }, { AdminOnly: whoAmI, WhoAmI: whoAmI });
  server.addService({ Ping: unaryBytesMethod(UNLISTED) }, { Ping: whoAmI });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(provider), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, target: `127.0.0.1:${port}` };
}

interface Outcome {
  code: status;
  details: string;
  reply?: string;
}

async function call(target: string, channel: ChannelCredentials, path: string): Promise<Outcome> {
  const client = new Client(target, channel);
  try {
    return await new Promise<Outcome>((resolve) => {
      const options = { deadline: Date.now() + 5000 };
      client.makeUnaryRequest(path, bytes, bytes, Buffer.alloc(0), new Metadata(), options, (error, reply) =>
        resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: '', reply: reply?.toString('hex') }),
      );
    });
  } finally {
    client.close();
  }
}

const asJsonHex = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('hex');
const SERVING = '0801'; // HealthCheckResponse { status: SERVING }

describe('mutual TLS between Trellis gRPC servers and clients', () => {
  let ca: PemKeyPair;
  let manager: NodeMaterial;
  let admin: NodeMaterial;
  let worker: NodeMaterial;
  let provider: MutableCertificateProvider;
  let target: string;
  const servers: Server[] = [];

  const clientOf = (node?: NodeMaterial): ChannelCredentials =>
    channelCredentials({ caPem: ca.certPem, keyPem: node?.keyPem, certPem: node?.certChainPem });

  beforeAll(async () => {
    ca = await testCa();
    [manager, admin, worker] = await Promise.all([
      nodeMaterial(ca, 'trellis-manager'),
      nodeMaterial(ca, 'trellis-admin'),
      nodeMaterial(ca, 'trellis-worker'),
    ]);
    provider = new MutableCertificateProvider({ caPem: ca.certPem, keyPem: manager.keyPem, certChainPem: manager.certChainPem });
    const started = await startServer(provider);
    servers.push(started.server);
    target = started.target;
  });

  afterAll(() => {
    for (const server of servers) server.forceShutdown();
  });

  it('refuses a plaintext client', async () => {
    expect(await call(target, credentials.createInsecure(), HEALTH_CHECK)).toMatchObject({ code: status.UNAVAILABLE });
  });

  it('lets a client without a certificate call an open method but not a protected one', async () => {
    expect(await call(target, clientOf(), HEALTH_CHECK)).toEqual({ code: status.OK, details: '', reply: SERVING });
    expect(await call(target, clientOf(), WHO_AM_I)).toEqual({
      code: status.UNAUTHENTICATED,
      details: "this call needs a client certificate issued by the cluster CA (the CLI's --tls-dir; an agent's --join-token)",
    });
  });

  it('treats a certificate from another CA as no certificate', async () => {
    const stranger = await nodeMaterial(await testCa('cluster-other'), 'trellis-admin');
    expect(await call(target, clientOf(stranger), WHO_AM_I)).toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('refuses a worker on an admin-only method and names the roles', async () => {
    expect(await call(target, clientOf(worker), ADMIN_ONLY)).toEqual({
      code: status.PERMISSION_DENIED,
      details: `${ADMIN_ONLY} is open to trellis-admin; this certificate's role is trellis-worker`,
    });
  });

  it('lets a worker through the exact-method rule, and the handler sees who called', async () => {
    const reply = asJsonHex({ nodeId: 'trellis-worker-1', role: 'trellis-worker', clusterId: 'cluster-test' });
    expect(await call(target, clientOf(worker), WHO_AM_I)).toEqual({ code: status.OK, details: '', reply });
  });

  it('lets an admin call an admin-only method', async () => {
    const reply = asJsonHex({ nodeId: 'trellis-admin-1', role: 'trellis-admin', clusterId: 'cluster-test' });
    expect(await call(target, clientOf(admin), ADMIN_ONLY)).toEqual({ code: status.OK, details: '', reply });
  });

  it('refuses a method no rule covers, even to an admin', async () => {
    expect(await call(target, clientOf(admin), UNLISTED)).toEqual({
      code: status.PERMISSION_DENIED,
      details: `no authorization rule covers ${UNLISTED}`,
    });
  });

  it('does not let a client talk to a server whose certificate is not a manager certificate', async () => {
    const impostor = await startServer(
      new MutableCertificateProvider({ caPem: ca.certPem, keyPem: worker.keyPem, certChainPem: worker.certChainPem }),
    );
    servers.push(impostor.server);
    const outcome = await call(impostor.target, clientOf(admin), HEALTH_CHECK);
    expect(outcome.code).toBe(status.UNAVAILABLE);
    expect(outcome.details).toContain("the server's certificate has role trellis-worker where trellis-manager was expected");
  });

  it('does not let a client talk to a manager of another cluster', async () => {
    const otherCa = await testCa('cluster-other');
    const otherManager = await nodeMaterial(otherCa, 'trellis-manager');
    const foreign = await startServer(
      new MutableCertificateProvider({ caPem: otherCa.certPem, keyPem: otherManager.keyPem, certChainPem: otherManager.certChainPem }),
    );
    servers.push(foreign.server);
    expect(await call(foreign.target, clientOf(admin), HEALTH_CHECK)).toMatchObject({ code: status.UNAVAILABLE });
  });

  it('serves a renewed certificate to new connections', async () => {
    const renewed = await nodeMaterial(ca, 'trellis-manager', 'trellis-manager-renewed');
    provider.setIdentity(renewed.keyPem, renewed.certChainPem);
    const [host, port] = target.split(':');
    const presentedNodeId = await new Promise<unknown>((resolve, reject) => {
      const socket = connect({ host, port: Number(port), ca: ca.certPem, checkServerIdentity: () => undefined, ALPNProtocols: ['h2'] });
      socket.once('secureConnect', () => {
        resolve(socket.getPeerCertificate().subject.CN);
        socket.destroy();
      });
      socket.once('error', reject);
    });
    expect(presentedNodeId).toBe('trellis-manager-renewed');
    expect(await call(target, clientOf(admin), ADMIN_ONLY)).toMatchObject({ code: status.OK });
  });
});
