import { allocateDefaultSubnet } from './address-pools';
import type { CreateNetwork, IpamRequest } from './commands';
import { fail, inElement, ok, type Result } from './errors';
import { checkText, parseHostAddress, parseIpRange, parseSubnet, shortened, sortedEntries } from './fields';
import { LIMITS } from './limits';
import { cidrsOverlap, formatCidr, formatIpv4, type Cidr } from '../../proto/runtime/ipv4';
import { storedCidr, type IpamRecord, type StoreState } from './state';

/*
 * A new network's subnets, from whichever form the request used: the simple
 * subnet/gateway/ip_range fields (errors name those fields), the ipam list
 * (errors name `ipam` and point at the entry), or neither (a block of the
 * default address pools).
 */

export function resolveIpam(state: StoreState, command: CreateNetwork): Result<IpamRecord[]> {
  const list = command.ipam ?? [];
  const simpleFields = (['subnet', 'gateway', 'ipRange'] as const).filter((field) => command[field]);
  if (list.length > 0 && simpleFields.length > 0) {
    return fail(
      'INVALID_ARGUMENT',
      'ipam',
      'ipam: give the subnets either as subnet/gateway/ip_range or as the ipam list, not both; move the first subnet into ipam',
    );
  }
  if (list.length > 0) return checkIpamList(list);
  if (command.subnet) return singleEntry(checkIpamEntry({ subnet: command.subnet, gateway: command.gateway, ipRange: command.ipRange }));
  const orphan = simpleFields[0];
  if (orphan !== undefined) {
    const field = orphan === 'ipRange' ? 'ip_range' : orphan;
    return fail('INVALID_ARGUMENT', field, `${field}: only makes sense with a subnet; give --subnet too, or leave ${field} empty to get a subnet from the default address pools`);
  }
  const subnet = allocateDefaultSubnet(state);
  if (!subnet.ok) return subnet;
  return singleEntry(checkIpamEntry({ subnet: formatCidr(subnet.value) }));
}

function singleEntry(entry: Result<IpamRecord>): Result<IpamRecord[]> {
  return entry.ok ? ok([entry.value]) : entry;
}

function checkIpamList(list: readonly IpamRequest[]): Result<IpamRecord[]> {
  const auxCount = list.reduce((sum, entry) => sum + Object.keys(entry.auxAddresses ?? {}).length, 0);
  if (auxCount > LIMITS.auxAddressesPerNetwork) {
    return fail('INVALID_ARGUMENT', 'ipam', `ipam: at most ${LIMITS.auxAddressesPerNetwork} aux addresses per network, got ${auxCount}; drop some`);
  }
  const records: IpamRecord[] = [];
  const subnets: Cidr[] = [];
  for (const [index, entry] of list.entries()) {
    const record = inElement('ipam', index, checkIpamEntry(entry));
    if (!record.ok) return record;
    // Within one network an address must mean one interface; other networks have their own namespaces, so only this list is checked.
    const subnet = storedCidr(record.value.subnet);
    const clash = subnets.findIndex((earlier) => cidrsOverlap(earlier, subnet));
    if (clash >= 0) {
      return fail(
        'INVALID_ARGUMENT',
        'ipam',
        `ipam: subnet ${record.value.subnet} (ipam[${index}]) overlaps ${records[clash]?.subnet} (ipam[${clash}]); give each subnet of a network its own addresses`,
      );
    }
    subnets.push(subnet);
    records.push(record.value);
  }
  return ok(records);
}

function checkIpamEntry(entry: IpamRequest): Result<IpamRecord> {
  const subnet = parseSubnet(entry.subnet);
  if (!subnet.ok) return subnet;
  const gateway = entry.gateway ? parseHostAddress('gateway', entry.gateway, subnet.value) : ok(subnet.value.network + 1);
  if (!gateway.ok) return gateway;
  const ipRange = entry.ipRange ? parseIpRange(entry.ipRange, subnet.value) : ok(undefined);
  if (!ipRange.ok) return ipRange;
  const auxAddresses = checkAuxAddresses(entry.auxAddresses ?? {}, subnet.value, gateway.value);
  if (!auxAddresses.ok) return auxAddresses;
  return ok({
    subnet: formatCidr(subnet.value),
    gateway: formatIpv4(gateway.value),
    ipRange: ipRange.value ? formatCidr(ipRange.value) : '',
    auxAddresses: auxAddresses.value,
  });
}

/** Addresses a network must never hand out (a router, a DNS server already there): inside the subnet, distinct, not the gateway. */
function checkAuxAddresses(aux: Readonly<Record<string, string>>, subnet: Cidr, gateway: number): Result<Record<string, string>> {
  const holders = new Map<number, string>();
  const normalised: Record<string, string> = {};
  for (const [name, value] of sortedEntries(aux)) {
    if (name === '') return fail('INVALID_ARGUMENT', 'aux_addresses', `aux_addresses: the entry for ${value} has no name; give name=ip`);
    if (name.length > LIMITS.auxNameLength) {
      return fail('INVALID_ARGUMENT', 'aux_addresses', `aux_addresses: name "${shortened(name)}" is ${name.length} characters; at most ${LIMITS.auxNameLength}`);
    }
    const text = checkText('aux_addresses', 'name', name);
    if (!text.ok) return text;
    const address = parseHostAddress('aux_addresses', value, subnet);
    if (!address.ok) return address;
    if (address.value === gateway) {
      return fail('INVALID_ARGUMENT', 'aux_addresses', `aux_addresses: "${name}" is ${value}, the gateway; give it another address in ${formatCidr(subnet)}`);
    }
    const holder = holders.get(address.value);
    if (holder !== undefined) {
      return fail('INVALID_ARGUMENT', 'aux_addresses', `aux_addresses: "${holder}" and "${name}" are both ${value}; give each its own address`);
    }
    holders.set(address.value, name);
    normalised[name] = formatIpv4(address.value);
  }
  return ok(normalised);
}
