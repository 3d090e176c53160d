import { parseIpv4 } from '../../proto/runtime/ipv4';
import { inNetworkNamespace } from './network-namespace';

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const LISTEN_BACKLOG = 128;

/**
 * A UDP socket bound to ADDRESS:PORT inside the network namespace at `path`, as a file
 * descriptor for `dgram` (`socket.bind({ fd })`): the socket belongs to that namespace for good,
 * and the agent serves it from its own.
 */
export function udpSocketIn(path: string, address: string, port: number): number {
  return boundSocketIn(path, SOCK_DGRAM, address, port);
}

/** A listening TCP socket on ADDRESS:PORT inside the namespace at `path` (`server.listen({ fd })`). */
export function tcpListenerIn(path: string, address: string, port: number): number {
  return boundSocketIn(path, SOCK_STREAM, address, port);
}

/**
 * An unbound, unconnected TCP socket inside the namespace at `path`, for `new net.Socket({ fd })`
 * to connect from: its connection leaves from that namespace, by that namespace's routes.
 */
export function tcpSocketIn(path: string): number {
  return inNetworkNamespace(path, (calls) => {
    const fd = calls.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`cannot make a tcp socket in ${path}: errno ${calls.errno()}`);
    return fd;
  });
}

function boundSocketIn(path: string, type: number, address: string, port: number): number {
  const ip = parseIpv4(address);
  if (ip === undefined) throw new Error(`socket address ${address} is not an IPv4 address`);
  const what = `${type === SOCK_STREAM ? 'tcp' : 'udp'} ${address}:${port} in ${path}`;
  return inNetworkNamespace(path, (calls) => {
    const fd = calls.socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`cannot make a socket for ${what}: errno ${calls.errno()}`);
    try {
      const one = Buffer.alloc(4);
      one.writeInt32LE(1);
      if (type === SOCK_STREAM) calls.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, one.length);
      const socketAddress = ipv4SocketAddress(ip, port);
      if (calls.bind(fd, socketAddress, socketAddress.length) !== 0) throw new Error(`cannot bind ${what}: errno ${calls.errno()}`);
      if (type === SOCK_STREAM && calls.listen(fd, LISTEN_BACKLOG) !== 0) throw new Error(`cannot listen on ${what}: errno ${calls.errno()}`);
      return fd;
    } catch (error) {
      calls.close(fd);
      throw error;
    }
  });
}

/** struct sockaddr_in: family (host order), port and address (network order), 8 bytes of zero. */
function ipv4SocketAddress(ip: number, port: number): Buffer {
  const socketAddress = Buffer.alloc(16);
  socketAddress.writeUInt16LE(AF_INET, 0);
  socketAddress.writeUInt16BE(port, 2);
  socketAddress.writeUInt32BE(ip, 4);
  return socketAddress;
}
