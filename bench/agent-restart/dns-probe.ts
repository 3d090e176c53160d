import { createSocket } from 'node:dgram';
import * as packet from 'dns-packet';
import pino from 'pino';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { createResolver } from '../../agent/dns/responder';
import { RESOLVER_ADDRESS, RESOLVER_PORT } from '../../agent/dns/model';
import { DnsServer, namespaceListeners } from '../../agent/dns/server';
import { UPSTREAM_TIMEOUT_MS } from '../../agent/dns/agent-dns';
import { netnsRunPath } from '../../agent/kernel';
import { udpSocketIn } from '../../agent/native/sockets-in-namespace';

/** What a restarted agent's resolver needed before a sandbox's query was answered again. */
export interface DnsRestart {
  /** Making the resolver's sockets in every sandbox namespace (after the resolver took the view). */
  socketsMs: number;
  /** Namespaces served after that: every sandbox of the view when all went well. */
  served: number;
  failing: number;
  /** Building the resolver's answers from the view. */
  updateMs: number;
  /** From the end of the pass until a query from inside a sandbox (to 127.0.0.11) came back with the right address. */
  answeredMs: number;
}

const QUERY_TIMEOUT_MS = 5_000;

/**
 * What the agent does after its first pass for DNS, in this process: the resolver takes the view
 * (every endpoint ready, as the managers would say of a node that stayed up), the server opens its
 * sockets in every sandbox, then a client inside the first sandbox asks for another sandbox of its
 * first network and must get that endpoint's address.
 */
export async function restartDns(view: NodeView): Promise<DnsRestart> {
  const start = performance.now();
  const logger = pino({ level: 'silent' });
  const resolver = createResolver({ hostResolvers: [], upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS });
  resolver.update(view, new Set(view.endpoints.map((endpoint) => endpoint.id)));
  const updated = performance.now();
  const server = new DnsServer(logger, namespaceListeners(resolver, logger));
  try {
    const { serving, failing } = server.sync(view);
    const opened = performance.now();
    const [asker, target] = probePair(view);
    const answer = await askFrom(netnsRunPath(asker.netns), target.name);
    if (answer !== target.ip) throw new Error(`the resolver in ${asker.netns} answered ${target.name} with ${answer ?? 'nothing'}, not ${target.ip}`);
    return { updateMs: updated - start, socketsMs: opened - updated, served: serving, failing, answeredMs: performance.now() - start };
  } finally {
    server.close();
  }
}

/** The first local sandbox, and another sandbox (local or remote) on its first network. */
function probePair(view: NodeView): [{ netns: string }, { name: string; ip: string }] {
  const [sandbox] = view.sandboxes;
  const own = view.endpoints.find((endpoint) => endpoint.sandboxId === sandbox?.id);
  const other = view.endpoints.find((endpoint) => endpoint.networkId === own?.networkId && endpoint.sandboxId !== sandbox?.id);
  if (sandbox === undefined || other === undefined) throw new Error('the view has no two sandboxes sharing a network to ask between');
  return [{ netns: sandbox.netnsName }, { name: other.sandboxName, ip: other.ip }];
}

/** An A query from a UDP socket made inside the namespace at `path`, as a client there sends it; the first address answered. */
async function askFrom(path: string, name: string): Promise<string | undefined> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => socket.bind({ fd: udpSocketIn(path, '127.0.0.1', 0) }, resolve));
    const reply = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${RESOLVER_ADDRESS} in ${path} within ${QUERY_TIMEOUT_MS} ms`)), QUERY_TIMEOUT_MS);
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
    socket.send(packet.encode({ id: 1, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), RESOLVER_PORT, RESOLVER_ADDRESS);
    const answer = packet.decode(await reply).answers?.find((record) => record.type === 'A');
    return answer?.type === 'A' ? answer.data : undefined;
  } finally {
    socket.close();
  }
}
