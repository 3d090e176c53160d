import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Relay, RelayHooks, Target } from './relay';

interface Flow {
  upstream: Socket;
  target: Target;
  idle: NodeJS.Timeout;
}

export interface UdpLimits {
  /** A flow with no datagram either way for this long is closed (docker-proxy: 90 s). */
  idleMs: number;
  /** Flows at once; datagrams of new clients past it are dropped, so no client can take the agent's file descriptors. */
  maxFlows: number;
}

/**
 * Serves the UDP socket `listenFd`: each client (address and port) is a flow with a socket of its
 * own towards the target (made by `dial`, the target read when the flow begins), so the target's
 * answers find their way back to that client; only datagrams from the target are relayed back.
 * A flow ends after `idleMs` without traffic either way.
 */
export function relayUdp(listenFd: number, target: () => Target, dial: () => number, hooks: RelayHooks, limits: UdpLimits): Relay {
  const flows = new Map<string, Flow>();
  const listener = createSocket('udp4');
  const endFlow = (key: string) => {
    const flow = flows.get(key);
    if (flow === undefined) return;
    flows.delete(key);
    clearTimeout(flow.idle);
    flow.upstream.close();
  };
  const openFlow = (key: string, client: RemoteInfo): Flow | undefined => {
    if (flows.size >= limits.maxFlows) return undefined;
    let upstream: Socket;
    try {
      upstream = createSocket('udp4');
      upstream.bind({ fd: dial() });
    } catch (error) {
      hooks.onError(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
    const flow: Flow = { upstream, target: target(), idle: setTimeout(() => endFlow(key), limits.idleMs) };
    flow.idle.unref();
    upstream.on('error', (error) => {
      hooks.onError(error);
      endFlow(key);
    });
    upstream.on('message', (reply, from) => {
      if (from.address !== flow.target.address || from.port !== flow.target.port) return;
      flow.idle.refresh();
      listener.send(reply, client.port, client.address, (error) => error && hooks.onError(error));
    });
    flows.set(key, flow);
    hooks.relayed();
    return flow;
  };
  listener.on('error', hooks.onError);
  listener.on('message', (datagram, client) => {
    const key = `${client.address}:${client.port}`;
    const flow = flows.get(key) ?? openFlow(key, client);
    if (flow === undefined) return;
    flow.idle.refresh();
    flow.upstream.send(datagram, flow.target.port, flow.target.address, (error) => error && hooks.onError(error));
  });
  listener.bind({ fd: listenFd });
  return {
    close() {
      for (const key of [...flows.keys()]) endFlow(key);
      listener.close();
    },
  };
}
