import type { AppliedValue, Command } from './commands';
import type { StoreError } from './errors';
import { Store } from './store';

/** A command a test expects refused, and how. */
export interface RefusedCase {
  title: string;
  /** Extra commands applied to the test's store first. */
  given?: Command[];
  command: Command;
  code: StoreError['code'];
  field: string;
  /** Pieces the human-readable message must contain (the bad value, the fix). */
  says: string[];
}

/** Applies a command a test expects to succeed, failing the test with the store's message otherwise. */
export function must<C extends Command>(store: Store, command: C): AppliedValue<C> {
  const result = store.apply(command);
  if (!result.ok) throw new Error(`${command.type} refused: ${result.error.message}`);
  return result.value;
}

/**
 * Two nodes, one network "front" (10.0.1.0/24), sandboxes "web" on node-a and
 * "db" on node-b, both connected to "front".
 */
export function twoNodeStore(): Store {
  const store = new Store();
  must(store, { type: 'registerNode', id: 'node-a-id', name: 'node-a', advertiseAddr: '192.168.0.1' });
  must(store, { type: 'registerNode', id: 'node-b-id', name: 'node-b', advertiseAddr: '192.168.0.2' });
  must(store, { type: 'createNetwork', id: 'front-id', name: 'front', driver: '', subnet: '10.0.1.0/24' });
  must(store, { type: 'createSandbox', id: 'web-id-0123456789', name: 'web', node: 'node-a' });
  must(store, { type: 'createSandbox', id: 'db-id-0123456789', name: 'db', node: 'node-b' });
  must(store, { type: 'connect', endpointId: 'ep-web-front', network: 'front', sandbox: 'web', aliases: ['www'] });
  must(store, { type: 'connect', endpointId: 'ep-db-front', network: 'front', sandbox: 'db', aliases: [] });
  return store;
}
