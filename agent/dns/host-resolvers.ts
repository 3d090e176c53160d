import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** glibc reads no more than three nameserver lines (MAXNS); the host's own programs use those. */
const MAX_NAMESERVERS = 3;

/**
 * The nameservers of a resolv.conf, as glibc reads them (first three, IPv4 or IPv6, comments
 * with # or ;).
 * Loopback ones are kept: the agent forwards from its own namespace, where the host's stub
 * resolver (127.0.0.53 of systemd-resolved, a dnsmasq on 127.0.0.1) is reachable, and the
 * sandboxes' 127.0.0.11 is not there, so nothing loops. Pure.
 */
export function nameserversOf(resolvConf: string): string[] {
  const servers: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const [keyword, address] = line.replace(/[#;].*/, '').trim().split(/\s+/);
    if (keyword === 'nameserver' && address !== undefined && isIP(address) !== 0) servers.push(address);
  }
  return servers.slice(0, MAX_NAMESERVERS);
}

/** The agent host's resolvers, read once at start; none when the file cannot be read. */
export function hostResolvers(path = HOST_RESOLV_CONF): string[] {
  try {
    return nameserversOf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}
