import type { EndpointView, NodeView, ServiceView } from '../../proto/gen/trellis/v1/dispatcher';
import { compareIpv4 } from '../../proto/runtime/ipv4';
import { compareText } from '../../proto/runtime/order';
import type { DesiredMesh, ForwardedPort, LocalDnat, MeshPeer } from './model';
import { meshMac } from './names';

export interface MeshInputs {
  underlayDevice: string;
  localAddress: string;
  /** Endpoints the managers call ready now. */
  ready: ReadonlySet<string>;
  /** gw0 address of each local sandbox that has one, by sandbox id: what a published port is DNATed to. */
  gatewayAddresses: ReadonlyMap<string, string>;
}

export interface MeshResult {
  mesh: DesiredMesh;
  skipped: string[];
}


/**
 * The routing mesh and host-mode publishing a view asks of this node. Pure.
 *
 * - A backend counts when it is ready and not draining (draining: no new flows; the flows it has
 *   stay in conntrack, which needs no rule).
 * - `host` ports answer on this node only, to its own ready backends, and nowhere else.
 * - `ingress` ports answer on every node. With a local backend the node serves them itself; without
 *   one it passes each packet on unchanged to a node that has one, picked by a hash of the client's
 *   address and port, so every packet of a flow takes the same way. That node DNATs it and replies
 *   to the client directly, from this node's address: the backend sees the client's address.
 */
export function desiredMesh(view: NodeView, inputs: MeshInputs): MeshResult {
  const skipped: string[] = [];
  const hostDnat: LocalDnat[] = [];
  const tunnelDnat: LocalDnat[] = [];
  const forwarded: ForwardedPort[] = [];
  const claimed = new Set<string>();
  const backends = backendsByService(view, inputs.ready);
  for (const service of [...view.services].sort((a, b) => compareText(a.id, b.id))) {
    if (service.ports.length === 0) continue;
    const ready = backends.get(service.id) ?? [];
    const local = localBackends(view, service, ready, inputs.gatewayAddresses, skipped);
    const remote = ready.filter((endpoint) => endpoint.nodeId !== view.nodeId);
    for (const port of service.ports) {
      const protocol = port.protocol === 'udp' ? 'udp' : 'tcp';
      const published = port.publishedPort || port.targetPort;
      const key = `${protocol} ${published}`;
      const dnat: LocalDnat = { protocol, port: published, targetPort: port.targetPort, backends: local };
      const slots = remote.filter((endpoint) => endpoint.vtep !== '').map((endpoint) => endpoint.vtep).sort(compareIpv4);
      const serves = local.length > 0 || (port.publishMode !== 'host' && slots.length > 0);
      if (!serves) continue;
      // Ingress ports are cluster-wide (the managers refuse a second one); host ports may repeat across services.
      if (claimed.has(key)) {
        skipped.push(`service ${service.name}: port ${published}/${protocol} is already published here by another service`);
        continue;
      }
      claimed.add(key);
      if (local.length > 0) hostDnat.push(dnat);
      if (local.length > 0 && port.publishMode !== 'host') tunnelDnat.push(dnat);
      if (local.length === 0) forwarded.push({ protocol, port: published, slots });
    }
  }
  const peerAddresses = [...new Set(forwarded.flatMap((port) => port.slots))].sort(compareIpv4);
  const peers: MeshPeer[] = peerAddresses.map((address) => ({ address, mac: meshMac(address) }));
  const wantsTunnel = forwarded.length > 0 || tunnelDnat.length > 0;
  return {
    mesh: {
      underlayDevice: inputs.underlayDevice,
      localAddress: inputs.localAddress,
      hostDnat,
      tunnelDnat,
      forwarded,
      tunnel: wantsTunnel ? { peers } : undefined,
    },
    skipped,
  };
}

function backendsByService(view: NodeView, ready: ReadonlySet<string>): Map<string, EndpointView[]> {
  const byService = new Map<string, EndpointView[]>();
  for (const endpoint of view.endpoints) {
    if (endpoint.serviceId === '' || endpoint.draining || !ready.has(endpoint.id)) continue;
    const list = byService.get(endpoint.serviceId) ?? [];
    list.push(endpoint);
    byService.set(endpoint.serviceId, list);
  }
  return byService;
}

/** One gw0 address per local backend sandbox (a sandbox may back a service on several networks). */
function localBackends(
  view: NodeView,
  service: ServiceView,
  ready: readonly EndpointView[],
  gatewayAddresses: ReadonlyMap<string, string>,
  skipped: string[],
): string[] {
  const addresses = new Set<string>();
  for (const endpoint of ready) {
    if (endpoint.nodeId !== view.nodeId) continue;
    const address = gatewayAddresses.get(endpoint.sandboxId);
    if (address === undefined) {
      skipped.push(
        `service ${service.name}: backend ${endpoint.id} has no gateway-bridge address (its sandbox is only on internal networks, or adopted); its published ports never reach it`,
      );
    } else addresses.add(address);
  }
  return [...addresses].sort(compareIpv4);
}
