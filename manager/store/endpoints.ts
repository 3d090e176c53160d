import type { Endpoint } from '../../proto/gen/trellis/v1/types';
import type { Connect, Disconnect } from './commands';
import { fail, notFound, ok, type Result } from './errors';
import { checkAliases, checkNewId, parseHostAddress } from './fields';
import { formatIpv4 } from './ipv4';
import { storedCidr, storedIpv4, type EndpointRecord, type NetworkRecord, type StoreState } from './state';
import { toEndpoint } from './views';

export function connect(state: StoreState, command: Connect): Result<Endpoint> {
  const network = state.findNetwork(command.network);
  if (!network) return notFound('network', command.network);
  const sandbox = state.findSandbox(command.sandbox);
  if (!sandbox) return notFound('sandbox', command.sandbox);
  const existing = endpointOn(state, network.id, sandbox.id);
  if (existing) {
    return fail(
      'ALREADY_EXISTS',
      'sandbox',
      `sandbox: "${sandbox.name}" is already connected to network "${network.name}" (as ${existing.ip}); disconnect it first`,
    );
  }
  const id = checkNewId(state.endpoints, 'endpoint', command.endpointId);
  if (!id.ok) return id;
  const aliases = checkAliases(command.aliases);
  if (!aliases.ok) return aliases;
  // Taking the address comes last: nothing after it can fail, so a refused command never holds one.
  const address = command.ip ? reserveStaticAddress(state, network, command.ip) : allocateAddress(state, network);
  if (!address.ok) return address;

  const usedInterfaces = new Set(state.endpointsOfSandbox(sandbox.id).map((endpoint) => endpoint.interfaceIndex));
  let interfaceIndex = 0;
  while (usedInterfaces.has(interfaceIndex)) interfaceIndex++;
  const record: EndpointRecord = {
    id: command.endpointId,
    networkId: network.id,
    sandboxId: sandbox.id,
    ip: formatIpv4(address.value),
    aliases: [...aliases.value],
    interfaceIndex,
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
  releaseEndpoint(state, endpoint);
  return ok(removed);
}

/** Deletes the endpoint and frees its address. */
export function releaseEndpoint(state: StoreState, endpoint: EndpointRecord): void {
  state.addressPool(endpoint.networkId).release(storedIpv4(endpoint.ip));
  state.endpoints.delete(endpoint.id);
}

function endpointOn(state: StoreState, networkId: string, sandboxId: string): EndpointRecord | undefined {
  return state.endpointsOfSandbox(sandboxId).find((endpoint) => endpoint.networkId === networkId);
}

function reserveStaticAddress(state: StoreState, network: NetworkRecord, ip: string): Result<number> {
  const address = parseHostAddress('ip', ip, storedCidr(network.subnet));
  if (!address.ok) return address;
  if (address.value === storedIpv4(network.gateway)) {
    return fail(
      'INVALID_ARGUMENT',
      'ip',
      `ip: ${ip} is the gateway of network "${network.name}"; choose another address in ${network.subnet} or leave ip empty`,
    );
  }
  const holder = state.endpointsOfNetwork(network.id).find((endpoint) => storedIpv4(endpoint.ip) === address.value);
  if (holder) {
    return fail(
      'ALREADY_EXISTS',
      'ip',
      `ip: ${ip} is already used by sandbox "${state.sandbox(holder.sandboxId).name}" on network "${network.name}"; choose another address or leave ip empty`,
    );
  }
  state.addressPool(network.id).reserve(address.value);
  return address;
}

function allocateAddress(state: StoreState, network: NetworkRecord): Result<number> {
  const address = state.addressPool(network.id).allocate();
  if (address !== undefined) return ok(address);
  const range = network.ipRange ? `ip_range ${network.ipRange}` : `subnet ${network.subnet}`;
  return fail(
    'RESOURCE_EXHAUSTED',
    'network',
    `network: no free address left in "${network.name}" (${range}); use a larger --subnet or --ip-range`,
  );
}
