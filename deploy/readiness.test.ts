/**
 * What Type=notify in trellis-manager.service waits for: a real `trellis manager` (dist/, on
 * loopback) under a stand-in notification socket says READY=1 only once it serves, so whatever
 * systemd starts after it (the provisioning's `trellis cluster join-token`, say) finds it answering.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../bench/raft/processes';
import { adminControl } from '../manager/cluster-clients';
import { listenForNotify } from '../proto/runtime/notify-socket-listener';
import { callUnary } from '../proto/runtime/unary-call';
import { tempDir } from './throwaway-root';

test('a manager tells systemd it is ready once it serves, and then it answers', async () => {
  const dir = tempDir('ready');
  const listener = await listenForNotify(join(dir, 'notify'));
  const address = `127.0.0.1:${await freePort()}`;
  mkdirSync(join(dir, 'data'));
  const manager = spawn(
    process.execPath,
    [join(__dirname, '..', 'dist', 'cli', 'main.js'), 'manager', '--listen', address, '--data-dir', join(dir, 'data'), '--admin-dir', join(dir, 'admin'), '--gossip-dht-port', '0', '--log-level', 'warn'],
    { env: { ...process.env, NOTIFY_SOCKET: join(dir, 'notify') }, stdio: 'ignore' },
  );
  try {
    const ready = await listener.received((message) => message.startsWith('READY=1|'));
    expect(ready).toMatch(new RegExp(`^READY=1\\|STATUS=manager \\S+ serving at ${address}$`));
    const client = adminControl(address, join(dir, 'admin'));
    try {
      const answer = await callUnary(client, (c) => c.listManagers, {}, 5000);
      expect(answer.managers.map((m) => m.address)).toEqual([address]);
    } finally {
      client.close();
    }
  } finally {
    manager.kill('SIGTERM');
    await new Promise((resolve) => (manager.exitCode === null ? manager.once('exit', resolve) : resolve(undefined)));
    listener.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
