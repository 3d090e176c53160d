import type { Network } from '../../proto/gen/trellis/v1/types';
import type { CreateNetwork, RemoveNetwork } from './commands';
import { fail, notFound, ok, type Result } from './errors';
import { checkLabels, checkName, checkNewId } from './fields';
import { refuseGatewayOverlap } from './gateway-subnets';
import { MTU_RANGE } from './limits';
import { resolveIpam } from './ipam';
import { FIRST_VNI, LAST_VNI, newAddressSpace, type NetworkRecord, type StoreState } from './state';
import { toNetwork } from './views';
import { drainingAdvice, drainingNote } from './drains';
import { checkPlacement, DRIVERS, isDriver, refuseSubnetOverlap } from './local-networks';
const { min: MIN_MTU, max: MAX_MTU } = MTU_RANGE;

export function createNetwork(state: StoreState, command: CreateNetwork): Result<Network> {
  const id = checkNewId(state.networks, 'network', command.id);
  if (!id.ok) return id;
  const name = checkName('network', command.name);
  if (!name.ok) return name;
  const taken = state.networks.byName(command.name);
  if (taken) {
    return fail('ALREADY_EXISTS', 'name', `name: a network named "${command.name}" already exists (id ${taken.id}); choose another name`);
  }
  const driver = command.driver || 'overlay';
  if (!isDriver(driver)) {
    return fail('INVALID_ARGUMENT', 'driver', `driver: "${driver}" is not supported; give ${DRIVERS.join(', ')}, or leave it empty for overlay`);
  }
  const mtu = command.mtu ?? 0;
  if (mtu !== 0 && !(Number.isInteger(mtu) && mtu >= MIN_MTU && mtu <= MAX_MTU)) {
    return fail('INVALID_ARGUMENT', 'mtu', `mtu: ${mtu} is out of range; give ${MIN_MTU} to ${MAX_MTU}, or 0 for the default (underlay MTU − 50)`);
  }
  const labels = checkLabels('labels', command.labels ?? {});
  if (!labels.ok) return labels;
  const placement = checkPlacement(state, driver, command);
  if (!placement.ok) return placement;
  const requestedVni = checkRequestedVni(state, command.vni ?? 0);
  if (!requestedVni.ok) return requestedVni;
  const subnetField = (command.ipam ?? []).length > 0 ? 'ipam' : 'subnet';
  if ((driver === 'macvlan' || driver === 'ipvlan') && !command.subnet && subnetField !== 'ipam') {
    return fail(
      'INVALID_ARGUMENT',
      'subnet',
      `subnet: a ${driver} network's addresses are those of the LAN its parent is on, which Trellis cannot choose; give that LAN's --subnet and --gateway (its router), like 192.168.1.0/24 and 192.168.1.1`,
    );
  }
  const ipam = resolveIpam(state, command);
  if (!ipam.ok) return ipam;
  const apart = refuseGatewayOverlap(state, subnetField, ipam.value, placement.value.nodeId);
  if (!apart.ok) return apart;
  const separate = refuseSubnetOverlap(state, subnetField, ipam.value, placement.value);
  if (!separate.ok) return separate;
  // Taken last: nothing after it can fail, so a refused command never holds a VNI. Local networks carry no VXLAN.
  const vni = driver !== 'overlay' ? 0 : requestedVni.value === 0 ? state.vnis.allocate() : requestedVni.value;
  if (vni === undefined) {
    return fail('RESOURCE_EXHAUSTED', 'vni', `vni: every VNI from ${FIRST_VNI} to ${LAST_VNI} is in use; remove an unused network first`);
  }
  if (requestedVni.value !== 0) state.vnis.reserve(vni);

  const record: NetworkRecord = {
    id: command.id,
    name: command.name,
    driver,
    ipam: ipam.value,
    internal: command.internal ?? false,
    attachable: command.attachable ?? false,
    mtu,
    labels: labels.value,
    vni,
    createdRevision: state.revision + 1,
    // Left out for overlay networks, so that their records (and snapshots) are as before.
    ...placement.value,
  };
  state.networks.set(record.id, record);
  state.addressSpaces.set(record.id, newAddressSpace(record));
  return ok(toNetwork(state, record));
}

/** 0 means "choose one"; anything else must be a free VNI of our range. */
function checkRequestedVni(state: StoreState, vni: number): Result<number> {
  if (vni === 0) return ok(0);
  if (!Number.isInteger(vni) || vni < FIRST_VNI || vni > LAST_VNI) {
    return fail('INVALID_ARGUMENT', 'vni', `vni: ${vni} is out of range; give ${FIRST_VNI} to ${LAST_VNI}, or 0 for the lowest free one`);
  }
  const holder = [...state.networks.values()].find((network) => network.vni === vni);
  if (holder) return fail('ALREADY_EXISTS', 'vni', `vni: ${vni} is used by network "${holder.name}"; give another, or 0 for the lowest free one`);
  return ok(vni);
}

export function removeNetwork(state: StoreState, command: RemoveNetwork): Result<Network> {
  const network = state.findNetwork(command.network);
  if (!network) return notFound('network', command.network);
  const endpoints = state.endpointsOfNetwork(network.id);
  if (endpoints.length > 0) {
    const sandboxNames = endpoints.map((endpoint) => `"${state.sandbox(endpoint.sandboxId).name}"${drainingNote(endpoint)}`).join(', ');
    return fail(
      'FAILED_PRECONDITION',
      'network',
      `network: "${network.name}" still has ${endpoints.length} endpoint(s) (sandboxes ${sandboxNames}); disconnect them first${drainingAdvice(endpoints)}`,
    );
  }
  const services = state.servicesOnNetwork(network.id);
  if (services.length > 0) {
    const serviceNames = services.map((service) => `"${service.name}"`).join(', ');
    return fail('FAILED_PRECONDITION', 'network', `network: "${network.name}" is used by service(s) ${serviceNames}; remove them first`);
  }

  const removed = toNetwork(state, network);
  state.networks.delete(network.id);
  state.addressSpaces.delete(network.id);
  if (network.vni !== 0) state.vnis.release(network.vni);
  return ok(removed);
}
