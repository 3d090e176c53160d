import { fail, ok, type Result } from './errors';
import { DNS_NAME, shortened } from './fields';
import { LIMITS } from './limits';
import { formatIpv4, parseIpv4 } from '../../proto/runtime/ipv4';

/*
 * Checks of the fields that describe one endpoint inside its sandbox: MAC,
 * hostname, extra hosts and resolvers. Each failure names the field, shows the
 * bad value and says what would be accepted.
 */

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const DNS_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const MAC_EXAMPLE = '02:00:00:00:00:0a';

/** A unicast MAC in lower case: a multicast or all-zero one would never be delivered to one interface. */
export function parseMac(value: string): Result<string> {
  const mac = value.toLowerCase();
  if (!MAC.test(mac)) {
    return fail('INVALID_ARGUMENT', 'mac', `mac: "${value}" is not a MAC address; give six hex octets separated by ":", like ${MAC_EXAMPLE}`);
  }
  const firstOctet = parseInt(mac.slice(0, 2), 16);
  if ((firstOctet & 1) === 1) {
    return fail('INVALID_ARGUMENT', 'mac', `mac: ${value} is a multicast address; use a unicast one (even first octet), like ${MAC_EXAMPLE}`);
  }
  if (mac === '00:00:00:00:00:00') return fail('INVALID_ARGUMENT', 'mac', `mac: ${value} is not usable; give one like ${MAC_EXAMPLE}`);
  return ok(mac);
}

export function checkHostname(hostname: string): Result<string> {
  if (DNS_LABEL.test(hostname)) return ok(hostname);
  return fail(
    'INVALID_ARGUMENT',
    'hostname',
    `hostname: ${JSON.stringify(shortened(hostname))} is not a valid host name; use 1 to 63 letters, digits and inner "-", like web-1`,
  );
}

/** Entries like `docker run --add-host`: "name:ip", normalised. */
export function checkExtraHosts(entries: readonly string[]): Result<string[]> {
  const normalised: string[] = [];
  for (const entry of entries) {
    const colon = entry.lastIndexOf(':');
    const name = entry.slice(0, colon);
    const address = colon < 0 ? undefined : parseIpv4(entry.slice(colon + 1));
    if (colon < 0 || name.length > LIMITS.aliasLength || !DNS_NAME.test(name) || address === undefined) {
      return fail(
        'INVALID_ARGUMENT',
        'extra_hosts',
        `extra_hosts: ${JSON.stringify(shortened(entry))} is not name:ip; give a DNS name and an IPv4 address, like db.local:10.0.0.5`,
      );
    }
    normalised.push(`${name}:${formatIpv4(address)}`);
  }
  return ok(normalised);
}

export function checkResolvers(resolvers: readonly string[]): Result<string[]> {
  const normalised: string[] = [];
  for (const resolver of resolvers) {
    const address = parseIpv4(resolver);
    if (address === undefined) {
      return fail('INVALID_ARGUMENT', 'dns', `dns: ${JSON.stringify(shortened(resolver))} is not an IPv4 address; give a resolver address, like 10.0.0.2`);
    }
    normalised.push(formatIpv4(address));
  }
  return ok(normalised);
}
