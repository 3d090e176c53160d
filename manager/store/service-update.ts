import type { Service } from '../../proto/gen/trellis/v1/types';
import type { PortRequest, UpdateService } from './commands';
import { fail, inElement, notFound, ok, type Result } from './errors';
import { checkCount } from './fields';
import { LIMITS } from './limits';
import { checkPortNumber, checkPorts, checkProtocol, describePort, samePublished } from './ports';
import { refuseReserved, reservationsOnAny } from './reserved-ports';
import { checkTimeouts, setsTimeouts } from './service-timeouts';
import { publishedSide, refuseInternalOnly } from './services';
import type { PortRecord, ServiceRecord, StoreState } from './state';
import { toService } from './views';

/**
 * `service update`: published ports taken away (publish_rm) first, then added (publish_add) with the
 * checks of a new service's ports, and timeouts set. The VIPs and backends stay. Timeouts apply to
 * drains that start from then on: one under way keeps the end it got.
 */
export function updateService(state: StoreState, command: UpdateService): Result<Service> {
  const service = state.findService(command.service);
  if (!service) return notFound('service', command.service);
  const adding = command.publishAdd ?? [];
  const removing = command.publishRm ?? [];
  if (adding.length === 0 && removing.length === 0 && !setsTimeouts(command)) {
    return fail(
      'INVALID_ARGUMENT',
      'service',
      'service: nothing to change; give publish_add, publish_rm, drain_timeout_seconds, tcp_idle_timeout_seconds or udp_idle_timeout_seconds',
    );
  }
  const kept = withoutRemoved(service, removing);
  if (!kept.ok) return kept;
  const others = [...state.services.values()].filter((other) => other.id !== service.id);
  const added = checkPorts(adding, service.endpointMode, others, 'publish_add');
  if (!added.ok) return added;
  const reachable = refuseInternalOnly('publish_add', added.value, service.networkIds.map((id) => state.network(id)));
  if (!reachable.ok) return reachable;
  const twin = added.value.find((port) => kept.value.some((held) => samePublished(held, port)));
  if (twin) {
    return fail(
      'INVALID_ARGUMENT',
      'publish_add',
      `publish_add: ${describePort(twin)} is already published by service "${service.name}"; remove it in the same update (publish_rm) to change it`,
    );
  }
  const ports = [...kept.value, ...added.value];
  const count = checkCount('publish_add', ports.length, LIMITS.portsPerService, 'service');
  if (!count.ok) return count;
  const reserved = refuseReserved('publish_add', added.value, publishedSide, reservationsOnAny(state.nodes.values()));
  if (!reserved.ok) return reserved;
  const timeouts = checkTimeouts(command, service);
  if (!timeouts.ok) return timeouts;

  const updated: ServiceRecord = { ...service, ports, ...timeouts.value, updatedRevision: state.revision + 1 };
  state.services.set(updated.id, updated);
  return ok(toService(state, updated));
}

/** The service's ports but those `requests` name; each request must name at least one. */
function withoutRemoved(service: ServiceRecord, requests: readonly PortRequest[]): Result<PortRecord[]> {
  let ports = service.ports;
  for (const [index, request] of requests.entries()) {
    const wanted = inElement('publish_rm', index, checkRemoval(request));
    if (!wanted.ok) return wanted;
    const matches = (port: PortRecord): boolean =>
      port.protocol === wanted.value.protocol && port.publishedPort === wanted.value.publishedPort && (wanted.value.publishMode ?? port.publishMode) === port.publishMode;
    if (!service.ports.some(matches)) {
      const published = service.ports.map(describePort).join(', ') || 'none';
      return fail(
        'INVALID_ARGUMENT',
        'publish_rm',
        `publish_rm: ${wanted.value.publishedPort}/${wanted.value.protocol} is not published by service "${service.name}" (it publishes ${published}); give one of its ports`,
      );
    }
    ports = ports.filter((port) => !matches(port));
  }
  return ok(ports);
}

/** A port to take away: its protocol and published port (or the target port, when none is given), and its mode if one is. */
function checkRemoval(request: PortRequest): Result<Pick<PortRecord, 'protocol' | 'publishedPort'> & { publishMode?: string }> {
  const protocol = checkProtocol(request.protocol);
  if (!protocol.ok) return protocol;
  const published = checkPortNumber('published_port', request.publishedPort || request.targetPort);
  if (!published.ok) return published;
  return ok({ protocol: protocol.value, publishedPort: published.value, ...(request.publishMode ? { publishMode: request.publishMode } : {}) });
}
