import { fail, ok, type Result } from './errors';
import { cidrContains, cidrContainsCidr, formatCidr, formatIpv4, lastAddress, parseCidr, parseIpv4, type Cidr } from '../../proto/runtime/ipv4';
import { compareText } from '../../proto/runtime/order';
import { unusableBlockHolding, unusableBlockOverlapping } from '../../proto/runtime/special-addresses';
import { LIMITS } from './limits';

/*
 * Checks of user-supplied fields. Each failure names the field, shows the bad
 * value and says what would be accepted.
 */

const OBJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
export const DNS_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

const SUBNET_EXAMPLE = '10.0.1.0/24';
export const MIN_SUBNET_PREFIX = 8;
const MAX_SUBNET_PREFIX = 30;

export function checkName(kind: string, name: string): Result<string> {
  if (name === '') return fail('INVALID_ARGUMENT', 'name', `name: a ${kind} name is required`);
  if (!OBJECT_NAME.test(name)) {
    return fail(
      'INVALID_ARGUMENT',
      'name',
      `name: ${JSON.stringify(shortened(name))} is not a valid ${kind} name; use 1 to 63 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
  return ok(name);
}

/** Ids come from the proposer; a reused one would silently replace another object. */
export function checkNewId(existing: ReadonlyMap<string, unknown>, kind: string, id: string): Result<string> {
  if (id === '') return fail('INVALID_ARGUMENT', 'id', `id: a new ${kind} needs an id`);
  if (existing.has(id)) return fail('ALREADY_EXISTS', 'id', `id: a ${kind} with id "${id}" already exists; retry with a new id`);
  return ok(id);
}

/** A list field bounded per object: "aliases: at most 64 per endpoint, got 200000; …". */
export function checkCount(field: string, count: number, limit: number, per: string): Result<void> {
  if (count <= limit) return ok(undefined);
  return fail('INVALID_ARGUMENT', field, `${field}: at most ${limit} per ${per}, got ${count}; drop some`);
}

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators: they break lines in files, logs and tables. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Free-form text (label keys and values, aux address names, reasons) without control characters. */
export function checkText(field: string, what: string, value: string): Result<string> {
  const control = CONTROL_CHARACTER.exec(value);
  if (control === null) return ok(value);
  const code = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return fail(
    'INVALID_ARGUMENT',
    field,
    `${field}: ${what} ${JSON.stringify(shortened(value))} contains a control character (${code}); remove it`,
  );
}

/** Enough of a value to recognise it in a message, not a copy of a huge one. */
export function shortened(value: string): string {
  return value.length <= 40 ? value : `${value.slice(0, 40)}…`;
}

export function checkAliases(aliases: readonly string[]): Result<readonly string[]> {
  const long = aliases.find((alias) => alias.length > LIMITS.aliasLength);
  if (long !== undefined) {
    return fail('INVALID_ARGUMENT', 'aliases', `aliases: "${shortened(long)}" is ${long.length} characters; a DNS name has at most ${LIMITS.aliasLength}`);
  }
  const bad = aliases.find((alias) => !DNS_NAME.test(alias));
  if (bad === undefined) return ok(aliases);
  return fail(
    'INVALID_ARGUMENT',
    'aliases',
    `aliases: ${JSON.stringify(shortened(bad))} is not a valid DNS name; use dot-separated labels of letters, digits and inner "-", like web or web.front`,
  );
}

export function parseCidrField(field: string, value: string, example: string): Result<Cidr> {
  const parsed = parseCidr(value);
  if (parsed.ok) return ok(parsed.cidr);
  if (value === '') return fail('INVALID_ARGUMENT', field, `${field}: required; give an IPv4 CIDR like ${example}`);
  if (parsed.reason === 'host-bits') {
    return fail(
      'INVALID_ARGUMENT',
      field,
      `${field}: "${value}" has host bits set; use its network address ${formatCidr(parsed.network)}`,
    );
  }
  return fail('INVALID_ARGUMENT', field, `${field}: "${value}" is not an IPv4 CIDR; give one like ${example}`);
}

export function parseSubnet(value: string): Result<Cidr> {
  const subnet = parseCidrField('subnet', value, SUBNET_EXAMPLE);
  if (!subnet.ok) return subnet;
  const prefix = subnet.value.prefixLength;
  if (prefix < MIN_SUBNET_PREFIX || prefix > MAX_SUBNET_PREFIX) {
    return fail(
      'INVALID_ARGUMENT',
      'subnet',
      `subnet: "${value}" is a /${prefix}; use a prefix between /${MIN_SUBNET_PREFIX} and /${MAX_SUBNET_PREFIX}, like ${SUBNET_EXAMPLE}`,
    );
  }
  return checkUsableSubnet('subnet', subnet.value);
}

/** A block packets can reach hosts in: not loopback, multicast, 0/8 or 240/4. */
export function checkUsableSubnet(field: string, subnet: Cidr): Result<Cidr> {
  const special = unusableBlockOverlapping(subnet);
  if (special === undefined) return ok(subnet);
  return fail(
    'INVALID_ARGUMENT',
    field,
    `${field}: ${formatCidr(subnet)} is not usable: ${special.reason}; give a private block like ${SUBNET_EXAMPLE}`,
  );
}

export function parseIpRange(value: string, subnet: Cidr): Result<Cidr> {
  const example = formatCidr({ network: subnet.network, prefixLength: Math.min(subnet.prefixLength + 1, 32) });
  const range = parseCidrField('ip_range', value, example);
  if (!range.ok) return range;
  if (!cidrContainsCidr(subnet, range.value)) {
    return fail(
      'INVALID_ARGUMENT',
      'ip_range',
      `ip_range: ${value} is not inside subnet ${formatCidr(subnet)}; give a range inside it, like ${example}`,
    );
  }
  return range;
}

/** An address a host may hold in `subnet`: inside it, and neither its network nor its broadcast address. */
export function parseHostAddress(field: string, value: string, subnet: Cidr): Result<number> {
  const example = formatIpv4(subnet.network + 1);
  const address = parseIpv4(value);
  if (address === undefined) {
    return fail('INVALID_ARGUMENT', field, `${field}: "${value}" is not an IPv4 address; give one inside ${formatCidr(subnet)}, like ${example}`);
  }
  if (!cidrContains(subnet, address)) {
    return fail('INVALID_ARGUMENT', field, `${field}: ${value} is outside subnet ${formatCidr(subnet)}; give an address inside it, like ${example}`);
  }
  const role = address === subnet.network ? 'network' : address === lastAddress(subnet) ? 'broadcast' : undefined;
  if (role) {
    return fail('INVALID_ARGUMENT', field, `${field}: ${value} is the ${role} address of ${formatCidr(subnet)}; use a host address like ${example}`);
  }
  return ok(address);
}

export function parseAdvertiseAddr(value: string): Result<number> {
  const address = parseIpv4(value);
  const special = address === undefined ? undefined : unusableBlockHolding(address);
  if (special !== undefined) {
    return fail(
      'INVALID_ARGUMENT',
      'advertise_addr',
      `advertise_addr: ${value} cannot be a node's underlay address: ${special.reason}; give the address other nodes reach this one at, like 192.168.1.10`,
    );
  }
  if (address !== undefined) return ok(address);
  return fail(
    'INVALID_ARGUMENT',
    'advertise_addr',
    `advertise_addr: "${value}" is not an IPv4 address; give the node's underlay address, like 192.168.1.10`,
  );
}

/** An address inside one of `subnets` (a network's, never empty) that a host may hold; the failure lists every subnet. */
export function parseAddressInSubnets(field: string, value: string, subnets: readonly Cidr[]): Result<number> {
  const [first] = subnets;
  if (first === undefined) throw new Error('store invariant broken: a network without subnets');
  const address = parseIpv4(value);
  const home = address === undefined ? undefined : subnets.find((subnet) => cidrContains(subnet, address));
  // Inside a subnet, not an address at all, or a one-subnet network: the single-subnet checks and wording fit.
  if (home !== undefined || address === undefined || subnets.length === 1) return parseHostAddress(field, value, home ?? first);
  return fail(
    'INVALID_ARGUMENT',
    field,
    `${field}: ${value} is outside every subnet of the network (${subnets.map(formatCidr).join(', ')}); give an address inside one, like ${formatIpv4(first.network + 2)}`,
  );
}

/** Labels are free-form metadata, but bounded: they live in every replica and every answer. Returns them sorted by key. */
export function checkLabels(field: string, labels: Readonly<Record<string, string>>): Result<Record<string, string>> {
  const entries = sortedEntries(labels);
  if (entries.length > LIMITS.labels) {
    return fail('INVALID_ARGUMENT', field, `${field}: ${entries.length} labels given; at most ${LIMITS.labels} are allowed, drop some`);
  }
  let bytes = 0;
  for (const [key, value] of entries) {
    if (key === '') return fail('INVALID_ARGUMENT', field, `${field}: a label key is empty; give labels as key=value`);
    if (key.length > LIMITS.labelKeyLength) {
      return fail('INVALID_ARGUMENT', field, `${field}: key "${key.slice(0, 20)}…" is ${key.length} characters; keys may have at most ${LIMITS.labelKeyLength}`);
    }
    if (value.length > LIMITS.labelValueLength) {
      return fail('INVALID_ARGUMENT', field, `${field}: the value of "${key}" is ${value.length} characters; values may have at most ${LIMITS.labelValueLength}`);
    }
    const text = checkText(field, 'label key', key);
    if (!text.ok) return text;
    const valueText = checkText(field, `the value of ${JSON.stringify(key)}`, value);
    if (!valueText.ok) return valueText;
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > LIMITS.labelBytes) {
    return fail('INVALID_ARGUMENT', field, `${field}: the labels take ${bytes} bytes (keys and values, UTF-8); at most ${LIMITS.labelBytes} per object, shorten or drop some`);
  }
  return ok(Object.fromEntries(entries));
}

/** Entries by key, so maps stored from requests do not depend on the order a client sent them in. */
export function sortedEntries(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => compareText(a, b));
}
