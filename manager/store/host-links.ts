import type { HostInterfaceRequest, RegisterNode } from './commands';
import { fail, inElement, ok, type Result } from './errors';
import { checkCount, shortened } from './fields';
import { LIMITS } from './limits';
import { parseIpv4 } from '../../proto/runtime/ipv4';
import type { HostInterfaceRecord, NodeRecord } from './state';

/*
 * What a node's agent reports about its host namespace at registration (RegisterRequest): the
 * interfaces macvlan and ipvlan networks may hang off, the link kinds its kernel can create, and
 * the ephemeral port range publish-all takes host ports from. Checked like any request field.
 */

/** Linux's own rule (dev_valid_name): 1 to 15 bytes, not "." or "..", no "/", ":" or whitespace. */
const IFNAME = /^[^/:\s]{1,15}$/;
const LINK_KIND = /^[a-z0-9_-]+$/;
/** Linux's default net.ipv4.ip_local_port_range, for nodes whose agents did not report theirs. */
export const DEFAULT_EPHEMERAL_PORTS = { first: 32768, last: 60999 } as const;

export function isInterfaceName(name: string): boolean {
  return IFNAME.test(name) && name !== '.' && name !== '..' && Buffer.byteLength(name) <= 15;
}

/** The node fields a registration sets, only those reported (so nodes of older agents keep records as before). */
export type HostReport = Pick<NodeRecord, 'interfaces' | 'linkKinds' | 'ephemeralPorts'>;

export function checkHostReport(command: RegisterNode): Result<HostReport> {
  const interfaces = checkInterfaces(command.interfaces ?? []);
  if (!interfaces.ok) return interfaces;
  const linkKinds = checkLinkKinds(command.linkKinds ?? []);
  if (!linkKinds.ok) return linkKinds;
  const ephemeralPorts = checkEphemeralPorts(command.ephemeralPortFirst ?? 0, command.ephemeralPortLast ?? 0);
  if (!ephemeralPorts.ok) return ephemeralPorts;
  return ok({
    ...(interfaces.value.length === 0 ? {} : { interfaces: interfaces.value }),
    ...(linkKinds.value.length === 0 ? {} : { linkKinds: linkKinds.value }),
    ...(ephemeralPorts.value === undefined ? {} : { ephemeralPorts: ephemeralPorts.value }),
  });
}

function checkInterfaces(requests: readonly HostInterfaceRequest[]): Result<HostInterfaceRecord[]> {
  const count = checkCount('interfaces', requests.length, LIMITS.interfacesPerNode, 'node');
  if (!count.ok) return count;
  const records: HostInterfaceRecord[] = [];
  const names = new Set<string>();
  for (const [index, request] of requests.entries()) {
    const record = inElement('interfaces', index, checkInterface(request));
    if (!record.ok) return record;
    if (names.has(record.value.name)) {
      return fail('INVALID_ARGUMENT', 'interfaces', `interfaces: "${record.value.name}" is reported twice (interfaces[${index}]); report each interface once`);
    }
    names.add(record.value.name);
    records.push(record.value);
  }
  return ok(records);
}

function checkInterface(request: HostInterfaceRequest): Result<HostInterfaceRecord> {
  if (!isInterfaceName(request.name)) {
    return fail('INVALID_ARGUMENT', 'name', `name: ${JSON.stringify(shortened(request.name))} is not an interface name; Linux names have 1 to 15 characters without "/", ":" or spaces`);
  }
  const kind = request.kind ?? '';
  if (kind !== '') {
    const checked = checkLinkKind('kind', kind);
    if (!checked.ok) return checked;
  }
  const addresses = request.addresses ?? [];
  const count = checkCount('addresses', addresses.length, LIMITS.addressesPerInterface, 'interface');
  if (!count.ok) return count;
  const bad = addresses.find((address) => !isInterfaceAddress(address));
  if (bad !== undefined) {
    return fail('INVALID_ARGUMENT', 'addresses', `addresses: ${JSON.stringify(shortened(bad))} is not an IPv4 interface address; give a.b.c.d/len, like 192.168.1.10/24`);
  }
  return ok({ name: request.name, kind, addresses: [...addresses] });
}

/** "a.b.c.d/len": host bits are the point here (the interface's own address), so not a CIDR check. */
function isInterfaceAddress(text: string): boolean {
  const [address, length, ...rest] = text.split('/');
  return rest.length === 0 && address !== undefined && parseIpv4(address) !== undefined && /^(\d|[12]\d|3[0-2])$/.test(length ?? '');
}

function checkLinkKinds(kinds: readonly string[]): Result<string[]> {
  const count = checkCount('link_kinds', kinds.length, LIMITS.linkKindsPerNode, 'node');
  if (!count.ok) return count;
  for (const kind of kinds) {
    const checked = checkLinkKind('link_kinds', kind);
    if (!checked.ok) return checked;
  }
  return ok([...new Set(kinds)].sort());
}

function checkLinkKind(field: string, kind: string): Result<string> {
  if (kind.length <= LIMITS.linkKindLength && LINK_KIND.test(kind)) return ok(kind);
  return fail(
    'INVALID_ARGUMENT',
    field,
    `${field}: ${JSON.stringify(shortened(kind))} is not a link kind; give a kernel link kind of at most ${LIMITS.linkKindLength} lower-case letters, digits, "_" or "-", like macvlan`,
  );
}

/** Both 0: not reported. Otherwise a range the kernel would take for net.ipv4.ip_local_port_range. */
function checkEphemeralPorts(first: number, last: number): Result<{ first: number; last: number } | undefined> {
  if (first === 0 && last === 0) return ok(undefined);
  const valid = Number.isInteger(first) && Number.isInteger(last) && first >= 1 && first <= last && last <= 65535;
  if (valid) return ok({ first, last });
  const field = first === 0 || first > last ? 'ephemeral_port_first' : 'ephemeral_port_last';
  return fail(
    'INVALID_ARGUMENT',
    field,
    `${field}: ${first}-${last} is not a port range; report net.ipv4.ip_local_port_range as first <= last within 1-65535 (like ${DEFAULT_EPHEMERAL_PORTS.first}-${DEFAULT_EPHEMERAL_PORTS.last}), or 0 and 0 when unknown`,
  );
}
