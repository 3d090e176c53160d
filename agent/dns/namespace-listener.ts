import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Asker, Resolver } from './model';
import { framed, MAX_TCP_MESSAGE, TcpMessages } from './tcp-framing';

export interface ListenerLimits {
  /** A TCP connection with nothing sent or received for this long is closed (RFC 7766 §6.2.3: seconds, not minutes). */
  tcpIdleMs: number;
  /** Connections one namespace may hold open at once; more are refused, so one sandbox cannot take the agent's file descriptors. */
  tcpConnections: number;
  /** Queries of one connection being answered at once; past it the agent stops reading that connection until some are. */
  tcpQueriesInFlight: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = { tcpIdleMs: 10_000, tcpConnections: 64, tcpQueriesInFlight: 16 };

/** The resolver's sockets in one namespace, served from the agent's: what the server keeps per sandbox. */
export interface NamespaceListener {
  close(): void;
}

/**
 * Serves the UDP socket `udpFd` and the TCP listener `tcpFd` (both made inside the asker's
 * namespace) with `resolver`. Every query on them is the asker's: the socket says which
 * namespace asks, the source address is never looked at. Problems of one client (a reset, a
 * write to a closed connection) are reported to `onError` and never end the listener.
 */
export function serveNamespace(
  udpFd: number,
  tcpFd: number,
  asker: Asker,
  resolver: Resolver,
  onError: (error: Error) => void,
  limits: ListenerLimits = DEFAULT_LISTENER_LIMITS,
): NamespaceListener {
  const udp = serveUdp(udpFd, asker, resolver, onError);
  const connections = new Set<Socket>();
  const tcp: Server = createServer((socket) => serveTcpConnection(socket, connections, asker, resolver, onError, limits));
  tcp.maxConnections = limits.tcpConnections;
  tcp.on('error', onError);
  tcp.listen({ fd: tcpFd });
  return {
    close() {
      udp.close();
      tcp.close();
      for (const socket of connections) socket.destroy();
    },
  };
}

function serveUdp(fd: number, asker: Asker, resolver: Resolver, onError: (error: Error) => void): UdpSocket {
  const udp = createSocket('udp4');
  udp.on('error', onError);
  udp.on('message', (query, from) => {
    resolver
      .respond(query, asker, 'udp')
      .then((reply) => {
        if (reply !== undefined) udp.send(reply, from.port, from.address, (error) => error && onError(error));
      })
      // Sending throws when the namespace left while the answer was on its way (a slow upstream):
      // that answer has nobody to go to, and must not become an unhandled rejection, which ends the agent.
      .catch(onError);
  });
  udp.bind({ fd });
  return udp;
}

/**
 * Several queries per connection, answered concurrently (a slow forwarded one does not hold up
 * the cluster names behind it) and written back in the order they came, as a client that
 * pipelines without looking at IDs expects.
 */
function serveTcpConnection(
  socket: Socket,
  connections: Set<Socket>,
  asker: Asker,
  resolver: Resolver,
  onError: (error: Error) => void,
  limits: ListenerLimits,
): void {
  connections.add(socket);
  const messages = new TcpMessages();
  let written: Promise<void> = Promise.resolve();
  let inFlight = 0;
  socket.setTimeout(limits.tcpIdleMs, () => socket.destroy());
  socket.on('error', onError);
  socket.on('close', () => connections.delete(socket));
  socket.on('data', (chunk: Buffer) => {
    for (const query of messages.push(chunk)) {
      const reply = resolver.respond(query, asker, 'tcp');
      inFlight += 1;
      if (inFlight >= limits.tcpQueriesInFlight) socket.pause();
      written = written.then(async () => {
        try {
          const message = await reply;
          // Longer than TCP's two-byte length can say: nothing sendable (the client times out, as for a lost reply).
          if (message !== undefined && message.length <= MAX_TCP_MESSAGE && !socket.destroyed) socket.write(framed(message));
        } catch (error) {
          onError(error instanceof Error ? error : new Error(String(error)));
        }
        inFlight -= 1;
        if (inFlight < limits.tcpQueriesInFlight && socket.isPaused()) socket.resume();
      });
    }
  });
}
