import type { Service } from '../../proto/gen/trellis/v1/types';
import { allocateAddress } from './addresses';
import type { CreateService, RemoveService } from './commands';
import { fail, notFound, ok, type Result } from './errors';
import { checkLabels, checkName, checkNewId } from './fields';
import { refuseReserved, reservationsOnAny } from './reserved-ports';
import { formatIpv4 } from '../../proto/runtime/ipv4';
import { checkPorts } from './ports';
import { checkTimeouts } from './service-timeouts';
import { SERVICE_DEFAULTS, storedIpv4, type EndpointMode, type NetworkRecord, type PortRecord, type ServiceRecord, type StoreState } from './state';
import { toService } from './views';
import { drainingAdvice, drainingNote } from './drains';

const ENDPOINT_MODES: readonly EndpointMode[] = ['vip', 'dnsrr'];

/** Objects only: the VIPs are allocated here; programming them (ipvs, DNS) is the data plane's. */
export function createService(state: StoreState, command: CreateService): Result<Service> {
  const id = checkNewId(state.services, 'service', command.id);
  if (!id.ok) return id;
  const name = checkName('service', command.name);
  if (!name.ok) return name;
  const taken = state.services.byName(command.name);
  if (taken) {
    return fail('ALREADY_EXISTS', 'name', `name: a service named "${command.name}" already exists (id ${taken.id}); choose another name`);
  }
  const endpointMode = ENDPOINT_MODES.find((mode) => mode === (command.endpointMode || 'vip'));
  if (!endpointMode) {
    return fail('INVALID_ARGUMENT', 'endpoint_mode', `endpoint_mode: "${command.endpointMode}" is not vip or dnsrr; leave it empty for vip`);
  }
  const networks = resolveNetworks(state, command.networks);
  if (!networks.ok) return networks;
  const ports = checkPorts(command.ports ?? [], endpointMode, state.services.values());
  if (!ports.ok) return ports;
  const reserved = refuseReserved('ports', ports.value, publishedSide, reservationsOnAny(state.nodes.values()));
  if (!reserved.ok) return reserved;
  const reachable = refuseInternalOnly('ports', ports.value, networks.value);
  if (!reachable.ok) return reachable;
  const labels = checkLabels('labels', command.labels ?? {});
  if (!labels.ok) return labels;
  const timeouts = checkTimeouts(command, SERVICE_DEFAULTS);
  if (!timeouts.ok) return timeouts;
  // Allocated last: nothing after it can fail, so a refused command never holds a VIP.
  const vips = endpointMode === 'vip' ? allocateVips(state, networks.value) : ok([]);
  if (!vips.ok) return vips;

  const record: ServiceRecord = {
    id: command.id,
    name: command.name,
    networkIds: networks.value.map((network) => network.id),
    endpointMode,
    ports: ports.value,
    vips: vips.value,
    labels: labels.value,
    createdRevision: state.revision + 1,
    ...timeouts.value,
    updatedRevision: state.revision + 1,
  };
  state.services.set(record.id, record);
  return ok(toService(state, record));
}

export function removeService(state: StoreState, command: RemoveService): Result<Service> {
  const service = state.findService(command.service);
  if (!service) return notFound('service', command.service);
  const backends = state.endpointsOfService(service.id);
  if (backends.length > 0) {
    const names = backends.map((endpoint) => `"${state.sandbox(endpoint.sandboxId).name}" on "${state.network(endpoint.networkId).name}"${drainingNote(endpoint)}`);
    return fail(
      'FAILED_PRECONDITION',
      'service',
      `service: "${service.name}" still has ${backends.length} backend(s) (${names.join(', ')}); disconnect them first (trellis network disconnect)${drainingAdvice(backends)}`,
    );
  }

  const removed = toService(state, service);
  for (const vip of service.vips) state.addressSpace(vip.networkId).release(storedIpv4(vip.ip));
  state.services.delete(service.id);
  return ok(removed);
}

/**
 * A published port reaches a backend through its sandbox's gateway bridge (gw0), which only
 * non-internal networks give: a service on internal networks alone could never be reached on one.
 */
export function refuseInternalOnly(field: string, ports: readonly PortRecord[], networks: readonly NetworkRecord[]): Result<void> {
  if (ports.length === 0 || networks.length === 0 || networks.some((network) => !network.internal)) return ok(undefined);
  const names = networks.map((network) => `"${network.name}"`).join(', ');
  return fail(
    'FAILED_PRECONDITION',
    field,
    `${field}: the service's networks (${names}) are all --internal: internal networks have no gateway, so no published port could reach a backend; add a non-internal network to the service, or publish no ports`,
  );
}

export function publishedSide(port: PortRecord): { protocol: PortRecord['protocol']; port: number } {
  return { protocol: port.protocol, port: port.publishedPort };
}

/** Each network once, in the order given. */
function resolveNetworks(state: StoreState, references: readonly string[]): Result<NetworkRecord[]> {
  const networks: NetworkRecord[] = [];
  for (const reference of references) {
    const network = state.findNetwork(reference);
    if (!network) return notFound('network', reference, 'networks');
    // Like Docker's "not eligible for services": VIPs and the routing mesh reach backends on every node.
    if (network.nodeId !== undefined) {
      return fail(
        'FAILED_PRECONDITION',
        'networks',
        `networks: "${network.name}" is a ${network.driver} network local to node "${state.node(network.nodeId).name}"; a service's VIPs and published ports reach its backends on every node, so give it overlay networks`,
      );
    }
    if (!networks.includes(network)) networks.push(network);
  }
  return ok(networks);
}

/** One VIP per network; all or none, so a shortage on a later network gives back the earlier ones. */
function allocateVips(state: StoreState, networks: readonly NetworkRecord[]): Result<ServiceRecord['vips']> {
  const vips: ServiceRecord['vips'] = [];
  for (const network of networks) {
    const address = allocateAddress(state, network, 'networks');
    if (!address.ok) {
      for (const vip of vips) state.addressSpace(vip.networkId).release(storedIpv4(vip.ip));
      return address;
    }
    vips.push({ networkId: network.id, ip: formatIpv4(address.value) });
  }
  return ok(vips);
}
