import { allocateAddress, subnetsOf } from './addresses';
import { fail, ok, type Result } from './errors';
import { cidrContains, parseIpv4 } from '../../proto/runtime/ipv4';
import type { NetworkRecord, StoreState } from './state';

/*
 * A macvlan or ipvlan network's subnet is a physical LAN, where the nodes themselves have
 * addresses: their underlay (advertise) address and whatever their agents reported on their
 * interfaces. A sandbox given one of them would take it over on the LAN, so automatic addresses
 * skip them and a static one is refused. Other drivers' subnets are Trellis' own.
 */

/** Node addresses inside the network's subnets, each with what holds it; empty for networks that are not on a LAN. */
function nodeAddressesOn(state: StoreState, network: NetworkRecord): Map<number, string> {
  const held = new Map<number, string>();
  if (network.driver !== 'macvlan' && network.driver !== 'ipvlan') return held;
  const subnets = subnetsOf(network);
  const note = (text: string, holder: string): void => {
    const address = parseIpv4(text.split('/')[0] ?? '');
    if (address !== undefined && subnets.some((subnet) => cidrContains(subnet, address)) && !held.has(address)) held.set(address, holder);
  };
  for (const node of state.nodes.values()) {
    note(node.advertiseAddr, `the underlay address of node "${node.name}"`);
    for (const link of node.interfaces ?? []) for (const address of link.addresses) note(address, `the address of ${link.name} on node "${node.name}"`);
  }
  return held;
}

/** The lowest free address of the network, on a LAN one that no node holds there (those passed over stay free). */
export function allocateEndpointAddress(state: StoreState, network: NetworkRecord, field: string): Result<number> {
  const held = nodeAddressesOn(state, network);
  const space = state.addressSpace(network.id);
  const passed: number[] = [];
  let address = allocateAddress(state, network, field);
  while (address.ok && held.has(address.value)) {
    passed.push(address.value);
    address = allocateAddress(state, network, field);
  }
  for (const skipped of passed) space.release(skipped);
  return address;
}

/** Refuses a static address a node holds on the LAN. */
export function refuseNodeAddress(state: StoreState, network: NetworkRecord, field: string, address: number, text: string): Result<number> {
  const holder = nodeAddressesOn(state, network).get(address);
  if (holder === undefined) return ok(address);
  return fail('ALREADY_EXISTS', field, `${field}: ${text} is ${holder} on the LAN of ${network.driver} network "${network.name}"; choose another address or leave ${field} empty`);
}
