import type { CreateNetworkRequest } from '../proto/gen/trellis/v1/control';
import type { ExposedPort, IpamConfig, PortConfig, PublishedPort, ReservedPort } from '../proto/gen/trellis/v1/types';
import { LIMITS, PORT_RANGE } from '../manager/store/limits';
import { cidrContains, parseCidr, parseIpv4 } from '../proto/runtime/ipv4';
import { CommandError } from './command-error';

/*
 * Turns repeatable command-line options into request fields, the way docker
 * reads the same options. Only the shape is checked here; the managers check
 * the values and name the request field at fault.
 */

/** `key=value` options (labels, aux addresses) as a map; a bare `key` means an empty value when `valueRequired` is false. */
export function keyValues(flag: string, entries: readonly string[], valueRequired = false): Record<string, string> {
  // A Map, then own properties: a key like "__proto__" must be a label, not the object's prototype.
  const map = new Map<string, string>();
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals < 0 && valueRequired) throw new CommandError(`${flag}: "${entry}" is not name=value`);
    const key = equals < 0 ? entry : entry.slice(0, equals);
    map.set(key, equals < 0 ? '' : entry.slice(equals + 1));
  }
  return Object.fromEntries(map);
}

export interface AddressingOptions {
  subnet: string[];
  gateway: string[];
  ipRange: string[];
  auxAddress: string[];
}

type Addressing = Pick<CreateNetworkRequest, 'subnet' | 'gateway' | 'ipRange' | 'ipam'>;

/**
 * Like `docker network create`: the nth --gateway and --ip-range belong to the nth
 * --subnet, and each --aux-address to the subnet that contains it. One subnet
 * without aux addresses uses the simple request fields, so errors name them.
 */
export function networkAddressing(options: AddressingOptions): Addressing {
  for (const [flag, values] of [['--gateway', options.gateway], ['--ip-range', options.ipRange]] as const) {
    if (values.length > options.subnet.length) {
      throw new CommandError(`${flag}: ${values.length} given for ${options.subnet.length} --subnet; give at most one per --subnet, in the same order`);
    }
  }
  const aux = keyValues('--aux-address', options.auxAddress, true);
  if (options.subnet.length <= 1 && Object.keys(aux).length === 0) {
    return { subnet: options.subnet[0] ?? '', gateway: options.gateway[0] ?? '', ipRange: options.ipRange[0] ?? '', ipam: [] };
  }
  if (options.subnet.length === 0) throw new CommandError('--aux-address: give the --subnet it belongs to');
  const ipam: IpamConfig[] = options.subnet.map((subnet, index) => ({
    subnet,
    gateway: options.gateway[index] ?? '',
    ipRange: options.ipRange[index] ?? '',
    auxAddresses: {},
  }));
  for (const [name, address] of Object.entries(aux)) {
    // An address in no subnet goes to the first one, whose manager-side check then says it is outside.
    const home = ipam.find((config) => containsAddress(config.subnet, address)) ?? ipam[0];
    if (home) home.auxAddresses[name] = address;
  }
  return { subnet: '', gateway: '', ipRange: '', ipam };
}

function containsAddress(subnet: string, address: string): boolean {
  const cidr = parseCidr(subnet);
  const ip = parseIpv4(address);
  return cidr.ok && ip !== undefined && cidrContains(cidr.cidr, ip);
}

const SHORT_PUBLISH = /^(?:(\d+):)?(\d+)(?:\/(\w+))?$/;

/** docker's short `--publish` spelling, `[published:]target[/protocol]`; undefined when `spec` is not in it. */
function shortPublish(spec: string): { published: number | undefined; target: number; protocol: string } | undefined {
  const match = SHORT_PUBLISH.exec(spec);
  if (!match) return undefined;
  return {
    published: match[1] === undefined ? undefined : portNumber(spec, match[1]),
    target: portNumber(spec, match[2] ?? ''),
    protocol: match[3] ?? '',
  };
}

/**
 * `--publish` of a service in docker's two spellings: `[published:]target[/protocol]`, or
 * `published=8080,target=80,protocol=udp,mode=host`.
 */
export function parsePublish(spec: string): PortConfig {
  const short = shortPublish(spec);
  if (short) {
    return { targetPort: short.target, publishedPort: short.published ?? 0, protocol: short.protocol, publishMode: '' };
  }
  const fields = keyValues('--publish', spec.split(','), true);
  const known = ['published', 'target', 'protocol', 'mode'];
  const unknown = Object.keys(fields).find((key) => !known.includes(key));
  if (unknown !== undefined || fields.target === undefined) {
    throw new CommandError(`--publish: "${spec}" is neither [published:]target[/protocol] nor published=P,target=T[,protocol=tcp|udp][,mode=ingress|host]`);
  }
  return {
    targetPort: portNumber(spec, fields.target),
    publishedPort: fields.published === undefined ? 0 : portNumber(spec, fields.published),
    protocol: fields.protocol ?? '',
    publishMode: fields.mode ?? '',
  };
}

/**
 * `--publish` of `network connect`, like `docker run -p`: HOST:CONTAINER[/tcp|udp]. The host
 * port is required (there is no ingress to pick one), and the protocol is checked here, so a
 * typo is named with the flag rather than as a request field.
 */
export function parseHostPublish(spec: string): PublishedPort {
  const short = shortPublish(spec);
  if (short?.published === undefined || !['', 'tcp', 'udp'].includes(short.protocol)) {
    throw new CommandError(`--publish: "${spec}" is not HOST:CONTAINER[/tcp|udp]; give the node's port, then the sandbox's, like 8080:80 or 5353:53/udp`);
  }
  return { hostPort: short.published, port: short.target, protocol: short.protocol || 'tcp' };
}

/** `--expose PORT[/tcp|udp]` of `network connect`, like `docker run --expose`. */
export function parseExpose(spec: string): ExposedPort {
  const match = /^(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  if (!match) throw new CommandError(`--expose: "${spec}" is not PORT[/tcp|udp]; give the sandbox's port, like 80 or 53/udp`);
  return { port: portNumber(spec, match[1] ?? '', '--expose'), protocol: match[2] ?? 'tcp' };
}

/**
 * `sandbox create --network`, Docker's spelling of a sandbox's network mode: none, host, or
 * container:OTHER (the namespace of sandbox OTHER, like --netns-from).
 */
export function parseSandboxNetwork(spec: string): { networkMode: string; netnsFrom: string } {
  if (spec === 'none' || spec === 'host') return { networkMode: spec, netnsFrom: '' };
  if (spec.startsWith('container:') && spec.length > 'container:'.length) return { networkMode: '', netnsFrom: spec.slice('container:'.length) };
  throw new CommandError(
    `--network: "${spec}" is not none, host or container:SANDBOX; a sandbox joins networks after it is created, with trellis network connect NETWORK SANDBOX`,
  );
}

/** A port inside a --publish spec: out of range it would not even fit the request (uint32), so it is refused here. */
function portNumber(spec: string, text: string, flag = '--publish'): number {
  if (!/^\d+$/.test(text)) throw new CommandError(`${flag}: "${text}" in "${spec}" is not a port number`);
  const port = Number(text);
  if (port < PORT_RANGE.min || port > PORT_RANGE.max) {
    throw new CommandError(`${flag}: ${text} in "${spec}" is out of range; ports are ${PORT_RANGE.min} to ${PORT_RANGE.max}`);
  }
  return port;
}

/**
 * A whole number option, e.g. --mtu 1400, inside `range` when given: a value the request field
 * cannot hold would otherwise fail as a serialization error, without the flag's name.
 */
export function integerOption(flag: string, text: string, range?: { min: number; max: number }): number {
  if (!/^\d+$/.test(text)) throw new CommandError(`${flag}: "${text}" is not a whole number`);
  const value = Number(text);
  if (range !== undefined && (value < range.min || value > range.max)) {
    throw new CommandError(`${flag}: ${text} is out of range; give ${range.min} to ${range.max}`);
  }
  return value;
}

/**
 * The agent's `--reserved-ports`: PORT[/tcp|udp] entries, comma-separated or repeated, that no
 * sandbox of the node may publish (the managers refuse them, the agent never programs them).
 */
export function parseReservedPorts(entries: readonly string[]): ReservedPort[] {
  const specs = entries.flatMap((entry) => entry.split(',')).filter((spec) => spec !== '');
  if (specs.length > LIMITS.reservedPortsPerNode - 1) {
    throw new CommandError(`--reserved-ports: ${specs.length} given; at most ${LIMITS.reservedPortsPerNode - 1} (the metrics port takes one more)`);
  }
  return specs.map((spec) => {
    const match = /^(\d+)(?:\/(tcp|udp))?$/.exec(spec);
    if (!match) throw new CommandError(`--reserved-ports: "${spec}" is not PORT[/tcp|udp]; give e.g. 9100,5353/udp`);
    return { port: portNumber(spec, match[1] ?? '', '--reserved-ports'), protocol: match[2] ?? 'tcp', reason: 'reserved with --reserved-ports' };
  });
}

const DURATION = /^(?:\d+[dhms])+$/;
const DURATION_PART = /(\d+)([dhms])/g;
const UNIT_SECONDS: Readonly<Record<string, number>> = { d: 86_400, h: 3_600, m: 60, s: 1 };

/**
 * A duration flag in whole seconds, written like docker's: 30s, 5m, 1h30m, 2d; or 0. Checked against
 * `range` (seconds) here, so a typo or an out-of-range value is named with the flag.
 */
export function durationSeconds(flag: string, text: string, range: { min: number; max: number }): number {
  if (text !== '0' && !DURATION.test(text)) throw new CommandError(`${flag}: "${text}" is not a duration; give one like 30s, 5m, 1h30m or 2d`);
  let seconds = 0;
  for (const [, count, unit] of text.matchAll(DURATION_PART)) seconds += Number(count) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  if (seconds < range.min || seconds > range.max) {
    throw new CommandError(`${flag}: ${text} is out of range; give ${describeSeconds(range.min)} to ${describeSeconds(range.max)}`);
  }
  return seconds;
}

function describeSeconds(seconds: number): string {
  if (seconds >= 3_600 && seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  return `${seconds}s`;
}
