import { processNetnsPath } from '../kernel/names';
import { tcpListenerIn, tcpSocketIn, udpSocketIn } from '../native/sockets-in-namespace';

/** The only address the proxy listens on: every other address of the host has the DNAT rules. */
export const LOOPBACK = '127.0.0.1';

/**
 * Where the proxy's sockets are made: its listeners on 127.0.0.1 and the sockets it relays from.
 * All of them in one network namespace, the host's (tests: a namespace of their own), as file
 * descriptors the agent serves from wherever it runs. Each throws, naming the errno, when it cannot.
 */
export interface SocketPlace {
  tcpListener(port: number): number;
  udpListener(port: number): number;
  /** An unconnected TCP socket to connect to the target from. */
  tcpDialer(): number;
  /** A UDP socket on a port of the kernel's choosing: one client flow's side towards the target. */
  udpDialer(): number;
}

/** Sockets made in the namespace at `path` (setns for one synchronous step); the agent's own by default. */
export function namespacePlace(path: string = processNetnsPath('self')): SocketPlace {
  return {
    tcpListener: (port) => tcpListenerIn(path, LOOPBACK, port),
    udpListener: (port) => udpSocketIn(path, LOOPBACK, port),
    tcpDialer: () => tcpSocketIn(path),
    udpDialer: () => udpSocketIn(path, '0.0.0.0', 0),
  };
}
