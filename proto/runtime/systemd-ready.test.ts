import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenForNotify } from './notify-socket-listener';
import { notifyReady } from './systemd-ready';

describe('notifyReady', () => {
  test('does nothing outside a Type=notify unit (no NOTIFY_SOCKET)', async () => {
    const calls: string[][] = [];
    const sent = await notifyReady('serving', {}, async (args) => void calls.push(args));
    expect(sent).toBe(false);
    expect(calls).toEqual([]);
  });

  test('under a unit, systemd-notify delivers READY=1 with the status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-notify-'));
    const socket = join(dir, 'notify');
    const listener = await listenForNotify(socket);
    try {
      const sent = await notifyReady('manager m1 serving', { ...process.env, NOTIFY_SOCKET: socket });
      expect(sent).toBe(true);
      await listener.received((message) => message === 'READY=1|STATUS=manager m1 serving');
    } finally {
      listener.child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
