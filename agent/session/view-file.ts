import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';
import { replaceFile } from '../name-ledger';

export const VIEW_FILE = 'last-view.json';

/** The last view a gossiping agent programmed, with the endpoints then ready. */
export interface SavedView {
  view: NodeView;
  readyEndpointIds: string[];
}

/**
 * A gossiping agent keeps the last view it programmed in its state directory: restarted while
 * every manager is down, it starts from it (its own endpoints are what it gossips, its members
 * who it may talk to), so its peers learn where its endpoints are now — a new advertise address
 * included — without a manager. Without gossip there is nothing to gain from it (nothing can
 * change without a manager), and the agent waits for a manager's view as it always did.
 */
export function saveView(stateDir: string, saved: SavedView): void {
  const content = JSON.stringify({ view: NodeView.toJSON(saved.view), readyEndpointIds: [...saved.readyEndpointIds].sort() });
  replaceFile(join(stateDir, VIEW_FILE), `${content}\n`, PRIVATE_FILE_MODE);
}

/** The saved view; undefined when there is none, or (with `problem` told) when it cannot be read. */
export function loadView(stateDir: string, problem: (message: string) => void): SavedView | undefined {
  const path = join(stateDir, VIEW_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problem(`cannot read ${path}: ${(error as Error).message}`);
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { view?: unknown; readyEndpointIds?: unknown };
    const ready = Array.isArray(parsed.readyEndpointIds) ? parsed.readyEndpointIds.filter((id): id is string => typeof id === 'string') : [];
    const view = NodeView.fromJSON(parsed.view);
    if (view.revision === 0 || view.nodeId === '') throw new Error('it holds no view');
    return { view, readyEndpointIds: ready };
  } catch (error) {
    problem(`${path} is not a saved view (${(error as Error).message}); the agent waits for a manager's view instead`);
    return undefined;
  }
}

/**
 * The saved view as this start sees it: the agent may have been restarted with another advertise
 * address, which its tunnel and its own endpoints (their vtep) take at once; the managers learn
 * it when one is reachable again.
 */
export function movedTo(view: NodeView, advertiseAddr: string): NodeView {
  if (view.advertiseAddr === advertiseAddr) return view;
  return {
    ...view,
    advertiseAddr,
    endpoints: view.endpoints.map((endpoint) => (endpoint.nodeId === view.nodeId ? { ...endpoint, vtep: advertiseAddr } : endpoint)),
  };
}
