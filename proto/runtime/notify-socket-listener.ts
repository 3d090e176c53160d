import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** Test support: a stand-in for systemd's notification socket, an AF_UNIX datagram socket (python3: node has none). */
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`;

export interface NotifyListener {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first message (its lines joined by |) that `matches`, once one has arrived. */
  received(matches: (message: string) => boolean): Promise<string>;
}

/** Binds `path` and resolves once it listens. */
export function listenForNotify(path: string): Promise<NotifyListener> {
  const child = spawn('python3', ['-c', LISTENER, path]);
  const lines: string[] = [];
  const waiting: { matches: (message: string) => boolean; resolve: (message: string) => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter((line) => line !== ''));
    for (const wait of waiting) {
      const found = lines.find(wait.matches);
      if (found !== undefined) wait.resolve(found);
    }
  });
  const received = (matches: (message: string) => boolean) =>
    new Promise<string>((resolve) => {
      const found = lines.find(matches);
      if (found !== undefined) resolve(found);
      else waiting.push({ matches, resolve });
    });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    void received((line) => line === 'bound').then(() => resolve({ child, received }));
  });
}
