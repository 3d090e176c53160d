import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ControlClient, CreateNetworkRequest } from '../../proto/gen/trellis/v1/control';
import { callUnary } from '../../proto/runtime/unary-call';
import { adminControl } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';
import { snapshotIndexOf } from '../raft/storage/file-names';

/**
 * Refused writes are log entries too, and the log since the last snapshot lives in memory: a manager
 * flooded with large refused requests must snapshot (and compact) by bytes, not only every N entries.
 */
const timeoutMs = 10_000;

function snapshotsIn(directory: string): number[] {
  const found: number[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      const index = snapshotIndexOf(entry.name);
      if (index !== undefined) found.push(index);
    }
  };
  walk(directory);
  return found;
}

describe('a manager taking large refused writes', () => {
  let root: string;
  let manager: RunningManager | undefined;
  let client: ControlClient | undefined;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'trellis-snapbytes-'));
  });
  afterEach(async () => {
    client?.close();
    await manager?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('snapshots once the entries since the last snapshot reach its byte threshold, long before its entry count', async () => {
    const dataDir = join(root, 'm1');
    manager = await startManager({
      listen: '127.0.0.1:0',
      dataDir,
      adminDir: join(root, 'admin'),
      logger: pino({ level: 'silent' }),
      snapshotEvery: 1_000_000,
      snapshotEveryBytes: 256 * 1024,
    });
    client = adminControl(manager.address, join(root, 'admin'));
    const before = snapshotsIn(dataDir).length;
    // 40 KB of label values: within the schema's size caps, refused by the store's 8 KB label budget.
    const heavy = { a: 'x'.repeat(20_000), b: 'y'.repeat(20_000) };
    for (let i = 0; i < 10; i += 1) {
      const refused = callUnary(client, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: `heavy${i}`, labels: heavy }), timeoutMs);
      await expect(refused).rejects.toMatchObject({ details: expect.stringContaining('labels') });
    }
    expect(snapshotsIn(dataDir).length).toBeGreaterThan(before);
  });
});
