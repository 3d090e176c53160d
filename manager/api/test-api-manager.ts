import { join } from 'node:path';
import pino from 'pino';
import { ControlClient } from '../../proto/gen/trellis/v1/control';
import { DispatcherClient } from '../../proto/gen/trellis/v1/dispatcher';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { adminControl, joinedNodeCredentials } from '../cluster-clients';
import { startManager, type ManagerOptions, type RunningManager } from '../daemon';

/** For API tests: one manager on loopback whose data (and admin certificate) live in `dataDir`, so it can be stopped and started again. */
export interface ApiManager {
  manager: RunningManager;
  control: ControlClient;
  /** It stands in for several agents: a manager's certificate may act for any node, a worker's for its own only. */
  dispatcher: DispatcherClient;
}

export async function startApiManager(dataDir: string, options: Partial<ManagerOptions> = {}): Promise<ApiManager> {
  const adminDir = join(dataDir, 'admin');
  const manager = await startManager({ listen: '127.0.0.1:0', dataDir, logger: pino({ level: 'silent' }), adminDir, ...options });
  const control = adminControl(manager.address, adminDir);
  const dispatcher = new DispatcherClient(manager.address, await joinedNodeCredentials(manager.address, adminDir, 'manager'), managerChannelOptions);
  return { manager, control, dispatcher };
}

export async function stopApiManager({ manager, control, dispatcher }: ApiManager): Promise<void> {
  control.close();
  dispatcher.close();
  await manager.close();
}
