import { createServer, Socket } from 'node:net';
import type { Relay, RelayHooks, Target } from './relay';

/**
 * Serves the listening socket `listenFd`: each connection gets one of its own to the target (read
 * when it arrives, so a new target takes the next connection), made by `dial`, and bytes flow both
 * ways. A half-close passes through (allowHalfOpen), so a client that shuts down its sending side
 * still gets the whole answer; an error on either side ends both.
 */
export function relayTcp(listenFd: number, target: () => Target, dial: () => number, hooks: RelayHooks, maxConnections: number): Relay {
  const connections = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (client) => {
    hooks.relayed();
    const { address, port } = target();
    let upstream: Socket;
    try {
      upstream = new Socket({ fd: dial(), allowHalfOpen: true, readable: true, writable: true });
    } catch (error) {
      hooks.onError(error instanceof Error ? error : new Error(String(error)));
      client.destroy();
      return;
    }
    const pair = [client, upstream];
    const end = (error?: Error) => {
      if (error !== undefined) hooks.onError(error);
      for (const socket of pair) {
        socket.destroy();
        connections.delete(socket);
      }
    };
    for (const socket of pair) {
      connections.add(socket);
      socket.on('error', end);
      socket.on('close', () => end());
    }
    upstream.connect(port, address);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.maxConnections = maxConnections;
  server.on('error', hooks.onError);
  server.listen({ fd: listenFd });
  return {
    close() {
      server.close();
      for (const socket of connections) socket.destroy();
    },
  };
}
