import type { Network } from '../../proto/gen/trellis/v1/types';
import type { CreateNetwork, RemoveNetwork } from './commands';
import { fail, notFound, ok, type Result } from './errors';
import { checkName, checkNewId, parseHostAddress, parseIpRange, parseSubnet } from './fields';
import { formatCidr, formatIpv4 } from './ipv4';
import { findByName, FIRST_VNI, LAST_VNI, type NetworkRecord, type StoreState } from './state';
import { toNetwork } from './views';

const SUPPORTED_DRIVERS = ['overlay'];

export function createNetwork(state: StoreState, command: CreateNetwork): Result<Network> {
  const id = checkNewId(state.networks, 'network', command.id);
  if (!id.ok) return id;
  const name = checkName('network', command.name);
  if (!name.ok) return name;
  const taken = findByName(state.networks, command.name);
  if (taken) {
    return fail('ALREADY_EXISTS', 'name', `name: a network named "${command.name}" already exists (id ${taken.id}); choose another name`);
  }
  const driver = command.driver || 'overlay';
  if (!SUPPORTED_DRIVERS.includes(driver)) {
    return fail('INVALID_ARGUMENT', 'driver', `driver: "${driver}" is not supported; use "overlay" or leave it empty`);
  }
  const subnet = parseSubnet(command.subnet);
  if (!subnet.ok) return subnet;
  const gateway = command.gateway ? parseHostAddress('gateway', command.gateway, subnet.value) : ok(subnet.value.network + 1);
  if (!gateway.ok) return gateway;
  const ipRange = command.ipRange ? parseIpRange(command.ipRange, subnet.value) : ok(undefined);
  if (!ipRange.ok) return ipRange;
  // Allocated last: nothing after it can fail, so a refused command never holds a VNI.
  const vni = state.vnis.allocate();
  if (vni === undefined) {
    return fail('RESOURCE_EXHAUSTED', '', `every VNI from ${FIRST_VNI} to ${LAST_VNI} is in use; remove an unused network first`);
  }

  const record: NetworkRecord = {
    id: command.id,
    name: command.name,
    driver,
    subnet: formatCidr(subnet.value),
    gateway: formatIpv4(gateway.value),
    ipRange: ipRange.value ? formatCidr(ipRange.value) : '',
    vni,
    createdRevision: state.revision + 1,
  };
  state.networks.set(record.id, record);
  state.addressPools.set(record.id, state.newAddressPool(record));
  return ok(toNetwork(state, record));
}

export function removeNetwork(state: StoreState, command: RemoveNetwork): Result<Network> {
  const network = state.findNetwork(command.network);
  if (!network) return notFound('network', command.network);
  const endpoints = state.endpointsOfNetwork(network.id);
  if (endpoints.length > 0) {
    const sandboxNames = endpoints.map((endpoint) => `"${state.sandbox(endpoint.sandboxId).name}"`).join(', ');
    return fail(
      'FAILED_PRECONDITION',
      'network',
      `network: "${network.name}" still has ${endpoints.length} endpoint(s) (sandboxes ${sandboxNames}); disconnect them first`,
    );
  }

  const removed = toNetwork(state, network);
  state.networks.delete(network.id);
  state.addressPools.delete(network.id);
  state.vnis.release(network.vni);
  return ok(removed);
}
