import type { Endpoint } from '../../proto/gen/trellis/v1/types';
import { checkFreeAddress, subnetsOf, takeCheckedAddress } from './addresses';
import { allocateEndpointAddress, refuseNodeAddress } from './lan-addresses';
import type { Connect, Disconnect } from './commands';
import { checkExtraHosts, checkHostname, checkResolvers, parseMac } from './endpoint-fields';
import { fail, notFound, ok, type Result } from './errors';
import { checkAliases, checkNewId } from './fields';
import { LIMITS } from './limits';
import { cidrContains, formatIpv4, macForIpv4, parseIpv4 } from '../../proto/runtime/ipv4';
import { checkPublishing } from './published-ports';
import { refuseUnconnectable } from './sandbox-modes';
import { drainingNote, leave, removeIfDone } from './drains';
import { type EndpointRecord, type NetworkRecord, type ServiceRecord, type StoreState } from './state';
import { toEndpoint } from './views';

export function connect(state: StoreState, command: Connect): Result<Endpoint> {
  const network = state.findNetwork(command.network);
  if (!network) return notFound('network', command.network);
  const sandbox = state.findSandbox(command.sandbox);
  if (!sandbox) return notFound('sandbox', command.sandbox);
  if (sandbox.removing) {
    return fail('FAILED_PRECONDITION', 'sandbox', `sandbox: "${sandbox.name}" is being removed (its backends drain); create another sandbox`);
  }
  const connectable = refuseUnconnectable(state, network, sandbox, command);
  if (!connectable.ok) return connectable;
  const existing = endpointOn(state, network.id, sandbox.id);
  if (existing?.drainEndsAtMs !== undefined) {
    return fail(
      'FAILED_PRECONDITION',
      'sandbox',
      `sandbox: "${sandbox.name}" is leaving network "${network.name}"${drainingNote(existing)}; connect it again once the drain ends, or end it now (trellis network disconnect --force ${network.name} ${sandbox.name})`,
    );
  }
  if (existing) {
    return fail(
      'ALREADY_EXISTS',
      'sandbox',
      `sandbox: "${sandbox.name}" is already connected to network "${network.name}" (as ${existing.ip}); disconnect it first`,
    );
  }
  const id = checkNewId(state.endpoints, 'endpoint', command.endpointId);
  if (!id.ok) return id;
  const connected = state.endpointsOfSandbox(sandbox.id).length;
  if (connected >= LIMITS.endpointsPerSandbox) {
    return fail(
      'FAILED_PRECONDITION',
      'sandbox',
      `sandbox: "${sandbox.name}" is already on ${connected} networks, the most one sandbox may join (${LIMITS.endpointsPerSandbox}); disconnect it from one first`,
    );
  }
  const aliases = checkAliases(command.aliases);
  if (!aliases.ok) return aliases;
  const hostname = command.hostname ? checkHostname(command.hostname) : ok(sandbox.name);
  if (!hostname.ok) return hostname;
  const extraHosts = checkExtraHosts(command.extraHosts ?? []);
  if (!extraHosts.ok) return extraHosts;
  const dns = checkResolvers(command.dns ?? []);
  if (!dns.ok) return dns;
  const service = command.service ? serviceOn(state, network, command.service) : ok(undefined);
  if (!service.ok) return service;
  const publishing = checkPublishing(state, network, sandbox, command);
  if (!publishing.ok) return publishing;
  const { publishedPorts, exposedPorts, publishAll } = publishing.value;
  const staticAddress = command.ip ? checkStaticAddress(state, network, command.ip) : ok(undefined);
  if (!staticAddress.ok) return staticAddress;
  const staticMac = command.mac ? checkFreeMac(state, network, command.mac, staticAddress.value) : ok(undefined);
  if (!staticMac.ok) return staticMac;
  // Taking the address comes last: nothing after it can fail, so a refused command never holds one.
  if (staticAddress.value !== undefined) takeCheckedAddress(state, network, staticAddress.value);
  const address = staticAddress.value !== undefined ? ok(staticAddress.value) : allocateEndpointAddress(state, network, 'network');
  if (!address.ok) return address;

  const usedInterfaces = new Set(state.endpointsOfSandbox(sandbox.id).map((endpoint) => endpoint.interfaceIndex));
  let interfaceIndex = 0;
  while (usedInterfaces.has(interfaceIndex)) interfaceIndex++;
  const record: EndpointRecord = {
    id: command.endpointId,
    networkId: network.id,
    sandboxId: sandbox.id,
    ip: formatIpv4(address.value),
    mac: staticMac.value ?? macForIpv4(address.value),
    aliases: [...aliases.value],
    interfaceIndex,
    hostname: hostname.value,
    extraHosts: extraHosts.value,
    dns: dns.value,
    serviceId: service.value?.id ?? '',
    createdRevision: state.revision + 1,
    // Left out when empty, so that records (and snapshots) of endpoints publishing nothing are as before.
    ...(publishedPorts.length === 0 ? {} : { publishedPorts }),
    ...(exposedPorts.length === 0 ? {} : { exposedPorts }),
    ...(publishAll ? { publishAll } : {}),
  };
  state.endpoints.set(record.id, record);
  return ok(toEndpoint(state, record));
}

export function disconnect(state: StoreState, command: Disconnect): Result<Endpoint> {
  const network = state.findNetwork(command.network);
  if (!network) return notFound('network', command.network);
  const sandbox = state.findSandbox(command.sandbox);
  if (!sandbox) return notFound('sandbox', command.sandbox);
  const endpoint = endpointOn(state, network.id, sandbox.id);
  if (!endpoint) return fail('NOT_FOUND', 'sandbox', `sandbox: "${sandbox.name}" is not connected to network "${network.name}"`);

  const removed = toEndpoint(state, endpoint);
  leave(state, endpoint, command.at, command.force === true);
  // A draining endpoint is returned as it is now; a removed one as it was.
  const draining = state.endpoints.get(endpoint.id);
  if (draining) return ok(toEndpoint(state, draining));
  removeIfDone(state, sandbox.id);
  return ok(removed);
}

function checkStaticAddress(state: StoreState, network: NetworkRecord, value: string): Result<number> {
  const address = checkFreeAddress(state, network, 'ip', value);
  return address.ok ? refuseNodeAddress(state, network, 'ip', address.value, value) : address;
}

function endpointOn(state: StoreState, networkId: string, sandboxId: string): EndpointRecord | undefined {
  return state.endpointsOfSandbox(sandboxId).find((endpoint) => endpoint.networkId === networkId);
}

function serviceOn(state: StoreState, network: NetworkRecord, reference: string): Result<ServiceRecord> {
  const service = state.findService(reference);
  if (!service) return notFound('service', reference);
  if (!service.networkIds.includes(network.id)) {
    return fail(
      'FAILED_PRECONDITION',
      'service',
      `service: "${service.name}" is not on network "${network.name}"; connect to one of its networks, or create the service with --network ${network.name}`,
    );
  }
  return ok(service);
}

/**
 * A static MAC must be unique in the network, and must not be the MAC another
 * address of the network gets automatically (02:42 + the address), or a later
 * dynamic endpoint would collide with it.
 */
function checkFreeMac(state: StoreState, network: NetworkRecord, value: string, ownAddress: number | undefined): Result<string> {
  const mac = parseMac(value);
  if (!mac.ok) return mac;
  const holder = state.endpointsOfNetwork(network.id).find((endpoint) => endpoint.mac === mac.value);
  if (holder) {
    return fail(
      'ALREADY_EXISTS',
      'mac',
      `mac: ${mac.value} is already used by sandbox "${state.sandbox(holder.sandboxId).name}" on network "${network.name}"; choose another MAC or leave mac empty`,
    );
  }
  const derivedFrom = addressBehindDerivedMac(mac.value);
  if (derivedFrom !== undefined && derivedFrom !== ownAddress && subnetsOf(network).some((subnet) => cidrContains(subnet, derivedFrom))) {
    return fail(
      'INVALID_ARGUMENT',
      'mac',
      `mac: ${mac.value} is the automatic MAC of address ${formatIpv4(derivedFrom)} in network "${network.name}"; choose one outside 02:42:…, like 02:00:00:00:00:0a`,
    );
  }
  return mac;
}

/** The address whose automatic MAC this is, if it has the 02:42 form. */
function addressBehindDerivedMac(mac: string): number | undefined {
  if (!mac.startsWith('02:42:')) return undefined;
  return parseIpv4(mac.slice(6).split(':').map((octet) => parseInt(octet, 16)).join('.'));
}
