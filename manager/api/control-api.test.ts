import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ControlClient, type GetSandboxRequest } from '../../proto/gen/trellis/v1/control';
import type { Sandbox } from '../../proto/gen/trellis/v1/types';
import { DispatcherClient } from '../../proto/gen/trellis/v1/dispatcher';
import { startManager, type RunningManager } from '../daemon';

/** The Control API over real gRPC on loopback, with the log on a real disk. */
type Call<Req, Res> = (request: Req, metadata: Metadata, callback: (error: ServiceError | null, response: Res) => void) => unknown;

function call<Req, Res>(method: Call<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => method(request, new Metadata(), (error, response) => (error ? reject(error) : resolve(response))));
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; field: string; message: string }> {
  const error = (await promise.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: ServiceError) => e,
  )) as ServiceError;
  return { code: status[error.code], field: String(error.metadata.get('trellis-field')[0] ?? ''), message: error.details };
}

describe('Control API', () => {
  let dataDir: string;
  let manager: RunningManager;
  let control: ControlClient;
  let dispatcher: DispatcherClient;

  async function start(): Promise<void> {
    manager = await startManager({ listen: '127.0.0.1:0', dataDir, logger: pino({ level: 'silent' }) });
    control = new ControlClient(manager.address, credentials.createInsecure());
    dispatcher = new DispatcherClient(manager.address, credentials.createInsecure());
  }
  async function stop(): Promise<void> {
    control.close();
    dispatcher.close();
    await manager.close();
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-api-'));
    await start();
    await call(dispatcher.register.bind(dispatcher), { nodeName: 'n1', advertiseAddr: '198.18.0.11' });
    await call(control.createNetwork.bind(control), { name: 'blue', driver: 'overlay', subnet: '10.231.0.0/24', gateway: '', ipRange: '' });
    await call(control.createSandbox.bind(control), { name: 'web', node: 'n1' });
    await call(control.connectNetwork.bind(control), { network: 'blue', sandbox: 'web', ip: '', aliases: ['www'] });
  });
  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the sandbox namespace path and its endpoint with IP and MAC', async () => {
    const sandbox = await call<GetSandboxRequest, Sandbox>(control.getSandbox.bind(control), { sandbox: 'web' });
    expect(sandbox.netns).toMatch(/^\/run\/netns\/trsb-[0-9a-f]{10}$/);
    expect(sandbox.endpoints).toEqual([
      expect.objectContaining({ networkName: 'blue', ip: '10.231.0.2', mac: '02:42:0a:e7:00:02', aliases: ['www'], interfaceName: 'eth0' }),
    ]);
  });

  it.each([
    ['createNetwork', { name: 'bad', driver: '', subnet: 'not-a-cidr', gateway: '', ipRange: '' }, 'INVALID_ARGUMENT', 'subnet'],
    ['createNetwork', { name: 'bad', driver: '', subnet: '10.232.0.0/24', gateway: '10.1.1.1', ipRange: '' }, 'INVALID_ARGUMENT', 'gateway'],
    ['createNetwork', { name: 'blue', driver: '', subnet: '10.233.0.0/24', gateway: '', ipRange: '' }, 'ALREADY_EXISTS', 'name'],
    ['connectNetwork', { network: 'nope', sandbox: 'web', ip: '', aliases: [] }, 'NOT_FOUND', 'network'],
    ['removeNetwork', { network: 'blue' }, 'FAILED_PRECONDITION', 'network'],
    ['getNetwork', { network: 'nope' }, 'NOT_FOUND', 'network'],
    ['createSandbox', { name: 'db', node: 'nope' }, 'NOT_FOUND', 'node'],
  ] as const)('%s refuses bad input with %s naming %s, and changes nothing', async (method, request, code, field) => {
    const before = await call(control.listNetworks.bind(control), {});
    const handler = (control[method] as unknown as Call<typeof request, unknown>).bind(control);
    const error = await refusal(call(handler, request));
    expect(error).toEqual({ code, field, message: expect.stringContaining(field) });
    expect(await call(control.listNetworks.bind(control), {})).toEqual(before);
  });

  it('keeps every acknowledged write across a restart', async () => {
    const before = await call(control.listNetworks.bind(control), {});
    const sandboxes = await call(control.listSandboxes.bind(control), {});
    await stop();
    await start();
    expect(await call(control.listNetworks.bind(control), {})).toEqual(before);
    expect(await call(control.listSandboxes.bind(control), {})).toEqual(sandboxes);
  });
});
