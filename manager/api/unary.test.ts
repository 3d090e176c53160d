import { Server, ServerCredentials, credentials, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { ControlClient, ControlService, type ListNetworksResponse } from '../../proto/gen/trellis/v1/control';
import { callUnary } from '../../proto/runtime/unary-call';
import { refused } from './refused';
import { unary } from './unary';

/** A Control server over real gRPC on loopback whose ListNetworks never finishes, and one that answers. */
describe('the server-side deadline of a unary call', () => {
  let server: Server;
  let client: ControlClient;
  const stuck = unary<unknown, ListNetworksResponse>(() => new Promise(() => {}), 300);

  beforeAll(async () => {
    server = new Server();
    const implementation: UntypedServiceImplementation = {
      listNetworks: stuck,
      listSandboxes: unary(() => ({ sandboxes: [], nextPageToken: '' }), 300),
    };
    server.addService(ControlService, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    client = new ControlClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('answers a call its handler never finishes with DEADLINE_EXCEEDED from the server, before the client gives up', async () => {
    const error = await refused(callUnary(client, (c) => c.listNetworks, { pageSize: 0, pageToken: '' }, 20_000));
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    expect(error.details).toMatch(/the server gave up on this call after 0.3 s; a write it made may still take effect/);
  });

  it('answers a prompt call as before', async () => {
    expect(await callUnary(client, (c) => c.listSandboxes, { pageSize: 0, pageToken: '' }, 20_000)).toEqual({ sandboxes: [], nextPageToken: '' });
  });
});
