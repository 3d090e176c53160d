import { Cidr, parseCidr } from '../../proto/runtime/ipv4';

/** Docker's docker_gwbridge takes the first free 172.x.0.0/16; Trellis has a fixed default, overridable per agent. */
export const DEFAULT_GATEWAY_SUBNET = '172.29.0.0/16';

/** The subnet, or what is wrong with it (the message names the flag and the fix). */
export function parseGatewaySubnet(text: string): Cidr | string {
  const parsed = parseCidr(text);
  if (parsed.ok && parsed.cidr.prefixLength <= 29) return parsed.cidr;
  return `--gateway-subnet: "${text}" is not an IPv4 network of /29 or larger (host bits zero); give e.g. ${DEFAULT_GATEWAY_SUBNET}`;
}

