import type { EndpointView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { RESOLVER_ADDRESS } from '../dns/model';
import { placeSandboxes } from '../reconcile/sandbox-placement';

/** What `ip netns exec` bind-mounts over /etc for one sandbox the agent made (docker writes the same two files). */
export interface SandboxFiles {
  netns: string;
  hosts: string;
  resolvConf: string;
}

/**
 * Every sandbox asks the agent's resolver, which answers the cluster's names and forwards the
 * rest to the sandbox's --dns servers (else the host's). ndots:0, as Docker: a name with no dot
 * (a sandbox, a service) is asked as it is first, not after every search domain.
 */
const RESOLV_CONF = `nameserver ${RESOLVER_ADDRESS}\noptions ndots:0\n`;

const byInterface = (a: EndpointView, b: EndpointView): number => a.interfaceName.localeCompare(b.interfaceName, 'en', { numeric: true });

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/**
 * The files of every sandbox the agent created (an adopted namespace's /etc is its runtime's).
 * Pure. The hostname is the first endpoint's (by interface) that has one, else the sandbox's
 * name; every endpoint address resolves to it; `--add-host` entries follow.
 */
export function sandboxFiles(view: NodeView): SandboxFiles[] {
  // Grouped once: a node's view holds every endpoint of its networks, thousands on a busy node.
  const local = new Map<string, EndpointView[]>();
  for (const endpoint of view.endpoints) {
    if (endpoint.nodeId !== view.nodeId) continue;
    const list = local.get(endpoint.sandboxId) ?? [];
    list.push(endpoint);
    local.set(endpoint.sandboxId, list);
  }
  const sandboxes = new Map(view.sandboxes.map((sandbox) => [sandbox.id, sandbox]));
  // One set of files per namespace: a shared one's are those of its sandbox that connects
  // networks (else its first by id). The host's /etc is the host's.
  return [...placeSandboxes(view.sandboxes).namespaces.values()]
    .filter((placed) => placed.origin.kind === 'created')
    .flatMap(({ sandboxIds }) => sandboxes.get(sandboxIds.find((id) => local.has(id)) ?? sandboxIds[0] ?? '') ?? [])
    .map((sandbox) => {
      const endpoints = (local.get(sandbox.id) ?? []).sort(byInterface);
      const hostname = endpoints.find((endpoint) => endpoint.hostname !== '')?.hostname ?? sandbox.name;
      const extraHosts = unique(endpoints.flatMap((endpoint) => endpoint.extraHosts)).map((entry) => {
        const colon = entry.lastIndexOf(':');
        return `${entry.slice(colon + 1)}\t${entry.slice(0, colon)}`;
      });
      const hosts = [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        ...unique(endpoints.map((endpoint) => `${endpoint.ip}\t${hostname}`)),
        ...extraHosts,
      ];
      return { netns: sandbox.netnsName, hosts: `${hosts.join('\n')}\n`, resolvConf: RESOLV_CONF };
    });
}
