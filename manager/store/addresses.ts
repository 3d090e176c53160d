import { fail, ok, type Result } from './errors';
import { parseAddressInSubnets } from './fields';
import { storedCidr, storedIpv4, type NetworkRecord, type StoreState } from './state';
import type { Cidr } from '../../proto/runtime/ipv4';

/*
 * Addresses inside one network, shared by endpoints and service VIPs: both come
 * from the network's address space, so no two of them (nor a gateway or an
 * auxiliary address) ever hold one address.
 */

export function subnetsOf(network: NetworkRecord): Cidr[] {
  return network.ipam.map((config) => storedCidr(config.subnet));
}

/** The lowest free address of the network's first subnet with room; `field` is the request field a shortage is blamed on. */
export function allocateAddress(state: StoreState, network: NetworkRecord, field: string): Result<number> {
  const address = state.addressSpace(network.id).allocate();
  if (address !== undefined) return ok(address);
  const ranges = network.ipam.map((config) => (config.ipRange ? `ip_range ${config.ipRange}` : `subnet ${config.subnet}`)).join(', ');
  return fail('RESOURCE_EXHAUSTED', field, `${field}: no free address left in network "${network.name}" (${ranges}); use a larger --subnet or --ip-range`);
}

/**
 * Checks a static address the user asked for without taking it: inside one of the
 * network's subnets, and held by nothing (gateway, auxiliary address, endpoint, VIP).
 */
export function checkFreeAddress(state: StoreState, network: NetworkRecord, field: string, value: string): Result<number> {
  const address = parseAddressInSubnets(field, value, subnetsOf(network));
  if (!address.ok) return address;
  const reserved = reservedRole(network, address.value);
  if (reserved) {
    return fail('INVALID_ARGUMENT', field, `${field}: ${value} is ${reserved} of network "${network.name}"; choose another address or leave ${field} empty`);
  }
  const holder = holderOf(state, network, address.value);
  if (holder) {
    return fail('ALREADY_EXISTS', field, `${field}: ${value} is already used by ${holder} on network "${network.name}"; choose another address or leave ${field} empty`);
  }
  if (state.addressSpace(network.id).isTaken(address.value)) throw new Error(`store invariant broken: ${value} is taken by nothing known`);
  return address;
}

function reservedRole(network: NetworkRecord, address: number): string | undefined {
  for (const config of network.ipam) {
    if (storedIpv4(config.gateway) === address) return 'the gateway';
    const aux = Object.entries(config.auxAddresses).find(([, value]) => storedIpv4(value) === address);
    if (aux) return `auxiliary address "${aux[0]}"`;
  }
  return undefined;
}

function holderOf(state: StoreState, network: NetworkRecord, address: number): string | undefined {
  const endpoint = state.endpointsOfNetwork(network.id).find((candidate) => storedIpv4(candidate.ip) === address);
  if (endpoint) return `sandbox "${state.sandbox(endpoint.sandboxId).name}"`;
  const service = state.servicesOnNetwork(network.id).find((candidate) => candidate.vips.some((vip) => vip.networkId === network.id && storedIpv4(vip.ip) === address));
  return service && `the VIP of service "${service.name}"`;
}

/** Takes an address `checkFreeAddress` accepted. */
export function takeCheckedAddress(state: StoreState, network: NetworkRecord, address: number): void {
  if (!state.addressSpace(network.id).reserve(address)) throw new Error(`store invariant broken: checked address ${address} was taken`);
}
