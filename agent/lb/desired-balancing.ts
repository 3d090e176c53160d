import type { EndpointView, NodeView, ServiceView } from '../../proto/gen/trellis/v1/dispatcher';
import { compareText } from '../../proto/runtime/order';
import { placeSandboxes } from '../reconcile/sandbox-placement';
import type { LbBackend, LbPort, LbProtocol, LbService, NamespaceBalancing } from './model';

/**
 * What every local sandbox namespace must balance, from the node's view and the endpoints the
 * managers call ready. Pure.
 *
 * - A sandbox balances the VIPs of the networks it is attached to, and only those: a VIP of any
 *   other network is not even routed there (it is an overlay address, which the gateway bridge
 *   never carries).
 * - A VIP listens on the service's target ports, as Docker's does (`--publish 8080:80` makes the
 *   VIP answer on 80; 8080 is the published port of the nodes), each port once per protocol.
 * - Backends are the service's endpoints on the VIP's network that are ready: accepting when
 *   ready, draining (no new flows) when ready and being disconnected. An endpoint that is not
 *   ready (its node down, or a node of its network has not programmed it yet) is left out, so a
 *   VIP never sends a flow where the network cannot carry it yet.
 * - dnsrr services have no VIP and get nothing here (DNS answers with their backends).
 * - A sandbox with an endpoint the kernel pass could not program (`unprogrammed`) is left as it
 *   is: its namespace may not even exist.
 */
export function desiredBalancing(view: NodeView, ready: ReadonlySet<string>, unprogrammed: ReadonlySet<string> = new Set()): NamespaceBalancing[] {
  const servicesOfNetwork = vipServicesByNetwork(view, ready);
  const networksOfSandbox = new Map<string, string[]>();
  const incomplete = new Set<string>();
  for (const endpoint of view.endpoints) {
    if (endpoint.nodeId !== view.nodeId) continue;
    if (unprogrammed.has(endpoint.id)) incomplete.add(endpoint.sandboxId);
    const networks = networksOfSandbox.get(endpoint.sandboxId) ?? [];
    networks.push(endpoint.networkId);
    networksOfSandbox.set(endpoint.sandboxId, networks);
  }
  const balancing: NamespaceBalancing[] = [];
  // One per namespace, whichever of its sandboxes connects the networks; nothing in the host's.
  for (const placed of placeSandboxes(view.sandboxes).namespaces.values()) {
    if (placed.origin.kind === 'host' || placed.sandboxIds.some((id) => incomplete.has(id))) continue;
    const networks = placed.sandboxIds.flatMap((id) => networksOfSandbox.get(id) ?? []);
    const services = networks.flatMap((networkId) => servicesOfNetwork.get(networkId) ?? []);
    balancing.push({ netns: placed.netns, services: services.sort((a, b) => compareText(a.key, b.key)) });
  }
  return balancing.sort((a, b) => compareText(a.netns, b.netns));
}

/** The key of a service's VIP on one network: unique per (service, network), stable across views. */
export function balancedServiceKey(serviceId: string, networkId: string): string {
  return `${serviceId}/${networkId}`;
}

function vipServicesByNetwork(view: NodeView, ready: ReadonlySet<string>): Map<string, LbService[]> {
  const backendsOf = new Map<string, EndpointView[]>();
  for (const endpoint of view.endpoints) {
    if (endpoint.serviceId === '' || !ready.has(endpoint.id)) continue;
    const key = balancedServiceKey(endpoint.serviceId, endpoint.networkId);
    const list = backendsOf.get(key) ?? [];
    list.push(endpoint);
    backendsOf.set(key, list);
  }
  const byNetwork = new Map<string, LbService[]>();
  for (const service of view.services) {
    if (service.endpointMode !== 'vip') continue;
    for (const vip of service.vips) {
      if (vip.ip === '') continue;
      const key = balancedServiceKey(service.id, vip.networkId);
      const list = byNetwork.get(vip.networkId) ?? [];
      list.push({
        key,
        vip: vip.ip,
        ports: vipPorts(service),
        backends: (backendsOf.get(key) ?? []).map(toBackend).sort((a, b) => compareText(a.ip, b.ip)),
        tcpIdleTimeoutSeconds: service.tcpIdleTimeoutSeconds,
        udpIdleTimeoutSeconds: service.udpIdleTimeoutSeconds,
      });
      byNetwork.set(vip.networkId, list);
    }
  }
  return byNetwork;
}

function vipPorts(service: ServiceView): LbPort[] {
  const ports = new Map<string, LbPort>();
  for (const port of service.ports) {
    const protocol: LbProtocol = port.protocol === 'udp' ? 'udp' : 'tcp';
    ports.set(`${protocol}/${port.targetPort}`, { protocol, port: port.targetPort, targetPort: port.targetPort });
  }
  return [...ports.values()].sort((a, b) => compareText(a.protocol, b.protocol) || a.port - b.port);
}

function toBackend(endpoint: EndpointView): LbBackend {
  return { ip: endpoint.ip, accepting: !endpoint.draining };
}
