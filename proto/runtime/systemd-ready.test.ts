import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notifyReady } from './systemd-ready';

/** A stand-in for systemd's notification socket: an AF_UNIX datagram socket printing each message it gets. */
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`;

interface Listener {
  child: ChildProcessWithoutNullStreams;
  /** Resolves once the listener has printed this line. */
  printed(line: string): Promise<void>;
}

function listen(path: string): Promise<Listener> {
  const child = spawn('python3', ['-c', LISTENER, path]);
  const lines: string[] = [];
  const waiting: { line: string; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter((line) => line !== ''));
    for (const wait of waiting.filter((w) => lines.includes(w.line))) wait.resolve();
  });
  const printed = (line: string) =>
    new Promise<void>((resolve) => (lines.includes(line) ? resolve() : waiting.push({ line, resolve })));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    void printed('bound').then(() => resolve({ child, printed }));
  });
}

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
    const { child, printed } = await listen(socket);
    try {
      const sent = await notifyReady('manager m1 serving', { ...process.env, NOTIFY_SOCKET: socket });
      expect(sent).toBe(true);
      await printed('READY=1|STATUS=manager m1 serving');
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
