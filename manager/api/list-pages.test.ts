import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { CreateNetworkRequest, ListNetworksResponse, type ControlClient } from '../../proto/gen/trellis/v1/control';
import { maxMessageBytes } from '../../proto/runtime/message-limits';
import { callUnary } from '../../proto/runtime/unary-call';
import { adminControl } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';
import { maxPageSize, pageBudgetBytes } from './pages';

const run = promisify(execFile);
/** The built CLI (scripts/setup.sh builds it before the tests), as a user runs it. */
const cli = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/*
 * 600 networks with 8 labels of 1,000 bytes each: about 5 MB listed, more than a
 * client accepts in one reply (4 MiB), on a real manager over real gRPC.
 */
const networkCount = 600;
const timeoutMs = 10_000;
const name = (i: number): string => `net-${String(i).padStart(4, '0')}`;
const labels = (i: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: 8 }, (_, l) => [`label-${l}`, `${name(i)}-${l}-`.padEnd(1000, 'x')]));

async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += width) await Promise.all(items.slice(start, start + width).map(work));
}

describe('ListNetworks pages over many large networks', () => {
  let root: string;
  let manager: RunningManager;
  let control: ControlClient;
  const adminDir = () => join(root, 'admin');
  const page = (pageToken: string, pageSize = 0) => callUnary(control, (c) => c.listNetworks, { pageSize, pageToken }, timeoutMs);
  const create = (networkName: string, i: number) =>
    callUnary(control, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: networkName, labels: labels(i) }), timeoutMs);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-list-pages-'));
    manager = await startManager({ listen: '127.0.0.1:0', dataDir: join(root, 'm1'), adminDir: adminDir(), logger: pino({ level: 'silent' }) });
    control = adminControl(manager.address, adminDir());
    await inBatches(
      Array.from({ length: networkCount }, (_, i) => i),
      20,
      (i) => create(name(i), i),
    );
  });
  afterAll(async () => {
    control.close();
    await manager.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('returns every network once, in name order, in pages of at most about 1 MiB', async () => {
    const names: string[] = [];
    const pageBytes: number[] = [];
    let token = '';
    do {
      const reply = await page(token);
      pageBytes.push(ListNetworksResponse.encode(reply).finish().length);
      names.push(...reply.networks.map((network) => network.name));
      token = reply.nextPageToken;
    } while (token !== '');
    expect(names).toEqual(Array.from({ length: networkCount }, (_, i) => name(i)));
    expect(pageBytes.length).toBeGreaterThan(4);
    for (const bytes of pageBytes) expect(bytes).toBeLessThanOrEqual(pageBudgetBytes + 1024);
    expect(pageBytes.reduce((sum, bytes) => sum + bytes, 0)).toBeGreaterThan(maxMessageBytes);
  });

  it('holds page_size objects a page, and the next page starts after the last name whatever changed in between', async () => {
    const first = await page('', 3);
    expect(first.networks.map((network) => network.name)).toEqual([name(0), name(1), name(2)]);
    // One removed from the page just read and one added before it: the next page neither repeats nor skips.
    await callUnary(control, (c) => c.removeNetwork, { network: name(1) }, timeoutMs);
    await create('net-0000a', 0);
    await create(`${name(3)}a`, 3);
    const second = await page(first.nextPageToken, 3);
    expect(second.networks.map((network) => network.name)).toEqual([name(3), `${name(3)}a`, name(4)]);
    await callUnary(control, (c) => c.removeNetwork, { network: 'net-0000a' }, timeoutMs);
    await callUnary(control, (c) => c.removeNetwork, { network: `${name(3)}a` }, timeoutMs);
    await create(name(1), 1);
  });

  it('a client that sends no page fields (an older one) gets a bounded first page and a token', async () => {
    const reply = await page('');
    expect(reply.networks.length).toBeGreaterThan(0);
    expect(reply.networks.length).toBeLessThan(networkCount);
    expect(reply.networks.length).toBeLessThanOrEqual(maxPageSize);
    expect(reply.nextPageToken).not.toBe('');
  });

  it('`trellis network ls` follows the pages and shows every network, as a table and as JSON', async () => {
    const args = ['network', 'ls', '--manager', manager.address, '--tls-dir', adminDir()];
    const options = { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 };
    const json = JSON.parse((await run(process.execPath, [cli, ...args, '--format', 'json'], options)).stdout) as { name: string }[];
    expect(json.map((network) => network.name)).toEqual(Array.from({ length: networkCount }, (_, i) => name(i)));
    const table = (await run(process.execPath, [cli, ...args], options)).stdout.trim().split('\n');
    expect(table).toHaveLength(networkCount + 1);
    expect(table[networkCount]).toContain(name(networkCount - 1));
  });
});
