import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { dirname, join, relative } from 'node:path';
import type { Logger } from 'pino';
import { ControlService } from '../proto/gen/trellis/v1/control';
import { DispatcherService } from '../proto/gen/trellis/v1/dispatcher';
import { protoFiles, protoRoot } from '../proto/runtime/proto-files';
import { controlService } from './api/control-service';
import { Dispatcher } from './dispatcher/dispatcher-service';
import { FileLog } from './log';
import { ReplicatedState } from './replicated-state';

export interface ManagerOptions {
  /** HOST:PORT to serve gRPC on. */
  listen: string;
  dataDir: string;
  logger: Logger;
}

export interface RunningManager {
  /** The address actually bound (useful with port 0). */
  address: string;
  close(): Promise<void>;
}

export async function startManager(options: ManagerOptions): Promise<RunningManager> {
  const { log, entries } = await FileLog.open(options.dataDir);
  const state = ReplicatedState.recover(log, entries);
  options.logger.info({ revision: state.store.revision, dataDir: options.dataDir }, 'store recovered');

  const dispatcher = new Dispatcher(state, options.logger);
  const server = new Server();
  server.addService(ControlService, controlService(state, dispatcher));
  server.addService(DispatcherService, dispatcher.service());
  const health = new HealthImplementation({ '': 'SERVING', 'trellis.v1.Control': 'SERVING', 'trellis.v1.Dispatcher': 'SERVING' });
  health.addToServer(server);
  const healthProtoRoot = join(dirname(healthProtoPath), '..', '..');
  const reflected = loadSync([...protoFiles, relative(healthProtoRoot, healthProtoPath)], { includeDirs: [protoRoot(), healthProtoRoot] });
  new ReflectionService(reflected).addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    ),
  );
  const address = options.listen.replace(/:\d+$/, `:${port}`);
  options.logger.info({ address }, 'manager serving');

  return {
    address,
    async close() {
      // Agents' session streams never end by themselves: cut them rather than wait.
      server.forceShutdown();
      await log.close();
    },
  };
}
