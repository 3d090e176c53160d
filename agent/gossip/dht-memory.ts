import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DhtAddress } from '../../proto/runtime/dht/dht-node';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';
import { replaceFile } from '../name-ledger';

/**
 * In the agent's state directory: the DHT nodes its own node knew last, so that an agent started
 * while every manager is down still bootstraps, through the agents it knew.
 */
export const DHT_NODES_FILE = 'gossip-dht-nodes.json';

/** Enough to find a few live ones among nodes that moved or went away. */
const REMEMBERED = 64;

export function rememberDhtNodes(stateDir: string, nodes: readonly DhtAddress[]): void {
  mkdirSync(stateDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const kept = nodes.slice(0, REMEMBERED).map(({ host, port }) => ({ host, port }));
  replaceFile(join(stateDir, DHT_NODES_FILE), `${JSON.stringify(kept)}\n`, PRIVATE_FILE_MODE);
}

/** What was remembered; nothing when the file is absent or unreadable (it is a cache, the managers are the other way in). */
export function rememberedDhtNodes(stateDir: string): DhtAddress[] {
  const path = join(stateDir, DHT_NODES_FILE);
  if (!existsSync(path)) return [];
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(isAddress).slice(0, REMEMBERED);
  } catch {
    return [];
  }
}

function isAddress(value: unknown): value is DhtAddress {
  if (typeof value !== 'object' || value === null) return false;
  const { host, port } = value as { host?: unknown; port?: unknown };
  return typeof host === 'string' && Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536;
}

/** The union, first occurrence kept, in order. */
export function uniqueAddresses(...lists: (readonly DhtAddress[])[]): DhtAddress[] {
  const seen = new Set<string>();
  const all: DhtAddress[] = [];
  for (const { host, port } of lists.flat()) {
    const key = `${host}:${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    all.push({ host, port });
  }
  return all;
}
