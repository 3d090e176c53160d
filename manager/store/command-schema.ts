import type { Command, CommandOf, CreateService, ExposedPortRequest, HostInterfaceRequest, IpamRequest, PortRequest, PublishedPortRequest, ReservedPortRequest, Revocation } from './commands';
import { fail, ok, type Result } from './errors';
import { checkCount } from './fields';
import { DRAIN_TIMEOUT_RANGE, LIMITS } from './limits';
import type { AddressPoolRecord, ClusterSecurityRecord, IssuedCertificateRecord, RootRotationRecord } from './state';

/*
 * The shape of every command, checked on decoded JSON before a command is proposed and
 * again when it is applied: a command from another version, or one that slipped past a
 * proposer, must be refused alike by every replica, never throw inside a handler.
 * This is the structural gate only (types, integer ranges, size caps); the handlers check
 * what the values mean. Only own properties count, so `toString` or `__proto__` inherited
 * from Object.prototype is never taken for a field.
 *
 * Fields this manager does not know are ignored, as protobuf ignores unknown fields:
 * commands grow by optional fields whose absence means the old behaviour (`publishedPorts`,
 * `netns`), so a replica that does not know one does what it did before the field existed,
 * and a rolling upgrade does not refuse every write a newer manager proposes.
 */

/** Ids, names, references, addresses, CIDRs: far beyond what any handler accepts, but bounded. */
const MAX_SHORT = 1024;
/** PEM certificates and keys, label values. */
const MAX_TEXT = 65_536;
/** Elements of a list, entries of a map. */
const MAX_ITEMS = 4096;
const MAX_UINT32 = 2 ** 32 - 1;

/** Checks one decoded value; `path` names it in messages (`ipam[1].gateway`). On success the value is returned as it is. */
type Schema<T> = (value: unknown, path: string) => Result<T>;
interface Optional<T> {
  optional: Schema<T>;
}
/** A schema per field of `C`: every field must have one, and an optional field an optional one. */
type Fields<C> = { [K in keyof C]-?: {} extends Pick<C, K> ? Optional<Exclude<C[K], undefined>> : Schema<C[K]> };

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: JSON's `{"__proto__": …}` is one, Object.prototype's `toString` is not. */
function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** The request field a message is filed under: the first step of the path, in the proto's snake_case. */
function fieldOf(path: string): string {
  return path.split(/[.[]/)[0] ?? path;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function refuse(path: string, message: string): ReturnType<typeof fail> {
  return fail('INVALID_ARGUMENT', fieldOf(path), `${path}: ${message}`);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

function text(maxLength: number): Schema<string> {
  return (value, path) => {
    if (typeof value === 'string' && value.length <= maxLength) return ok(value);
    return refuse(path, `give a string of at most ${maxLength} characters; got ${describe(value)}`);
  };
}

const short = text(MAX_SHORT);

function integer(min: number, max: number): Schema<number> {
  return (value, path) => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return ok(value);
    return refuse(path, `give a whole number from ${min} to ${max}; got ${describe(value)}`);
  };
}

/** What the proto declares uint32. */
const uint32 = integer(0, MAX_UINT32);

const flag: Schema<boolean> = (value, path) => (typeof value === 'boolean' ? ok(value) : refuse(path, `give true or false; got ${describe(value)}`));

function oneOf<T extends string>(...allowed: T[]): Schema<T> {
  return (value, path) => {
    const found = allowed.find((candidate) => candidate === value);
    return found !== undefined ? ok(found) : refuse(path, `give one of ${allowed.join(', ')}; got ${describe(value)}`);
  };
}

function optional<T>(schema: Schema<T>): Optional<T> {
  return { optional: schema };
}

function list<T>(element: Schema<T>): Schema<T[]> {
  return (value, path) => {
    if (!Array.isArray(value) || value.length > MAX_ITEMS) return refuse(path, `give a list of at most ${MAX_ITEMS} elements; got ${describe(value)}`);
    for (const [index, item] of value.entries()) {
      const checked = element(item, `${path}[${index}]`);
      if (!checked.ok) return checked;
    }
    return ok(value as T[]);
  };
}

/**
 * A list with a documented limit per object (limits.ts): checked here, before its elements, so a
 * list of 200,000 is refused at once and in the words users read in the README.
 */
function bounded<T>(element: Schema<T>, limit: number, per: string): Schema<T[]> {
  const elements = list(element);
  return (value, path) => {
    const count = Array.isArray(value) ? checkCount(fieldOf(path), value.length, limit, per) : ok(undefined);
    return count.ok ? elements(value, path) : count;
  };
}

/** String → string maps (labels, aux addresses). `__proto__` is refused: assigned to an object, it would set its prototype instead. */
const stringMap: Schema<Record<string, string>> = (value, path) => {
  const entries = isObject(value) ? Object.entries(value) : undefined;
  if (!entries || entries.length > MAX_ITEMS) return refuse(path, `give a map of at most ${MAX_ITEMS} entries; got ${describe(value)}`);
  for (const [key, entry] of entries) {
    if (key === '__proto__') return refuse(path, 'the key "__proto__" is not allowed; choose another key');
    if (key.length > MAX_SHORT) return refuse(path, `a key of ${key.length} characters is too long; give keys of at most ${MAX_SHORT} characters`);
    if (typeof entry !== 'string' || entry.length > MAX_TEXT) {
      return refuse(path, `the value of ${describe(key)} must be a string of at most ${MAX_TEXT} characters; got ${describe(entry)}`);
    }
  }
  return ok(value as Record<string, string>);
};

/** A table of field schemas, with each field's name in messages worked out once. */
type FieldSpecs = { key: string; name: string; spec: Schema<unknown> | Optional<unknown> }[];

function fieldSpecs(fields: object): FieldSpecs {
  return (Object.entries(fields) as [string, Schema<unknown> | Optional<unknown>][]).map(([key, spec]) => ({ key, name: snakeCase(key), spec }));
}

function checkFields(specs: FieldSpecs, value: unknown, path: string): Result<unknown> {
  if (!isObject(value)) return refuse(path, `give an object; got ${describe(value)}`);
  for (const { key, name, spec } of specs) {
    const fieldPath = path === '' ? name : `${path}.${name}`;
    const field = own(value, key);
    // A missing required field fails its own check, whose message says what to give.
    const checked = typeof spec === 'function' ? spec(field, fieldPath) : field === undefined ? ok(field) : spec.optional(field, fieldPath);
    if (!checked.ok) return checked;
  }
  return ok(value);
}

function object<T>(fields: Fields<T>): Schema<T> {
  const specs = fieldSpecs(fields);
  return (value, path) => {
    const checked = checkFields(specs, value, path);
    return checked.ok ? ok(value as T) : checked;
  };
}

const publishedPort = object<PublishedPortRequest>({
  protocol: optional(short),
  hostPort: uint32,
  port: uint32,
});

const exposedPort = object<ExposedPortRequest>({
  protocol: optional(short),
  port: uint32,
});

const hostInterface = object<HostInterfaceRequest>({
  name: short,
  kind: optional(short),
  addresses: optional(bounded(short, LIMITS.addressesPerInterface, 'interface')),
});

const servicePort = object<PortRequest>({
  protocol: optional(short),
  targetPort: uint32,
  publishedPort: optional(uint32),
  publishMode: optional(short),
});

const reservedPort = object<ReservedPortRequest>({
  protocol: optional(short),
  port: uint32,
  reason: optional(short),
});

const ipamEntry = object<IpamRequest>({
  subnet: short,
  gateway: optional(short),
  ipRange: optional(short),
  auxAddresses: optional(stringMap),
});

/** Milliseconds since the epoch, chosen by the proposer. */
const epochMs = integer(0, Number.MAX_SAFE_INTEGER);

const revocation = { reason: short, at: epochMs, until: epochMs } satisfies Fields<Revocation>;

/** The latest time a Date holds (ECMAScript's limit), in ms since the epoch. */
const MAX_DATE_MS = 8_640_000_000_000_000;
/** A drain's start: early enough that its end (at most the longest drain timeout later) is still a date. */
const drainStart = integer(0, MAX_DATE_MS - DRAIN_TIMEOUT_RANGE.max * 1000);

const issuedCertificate = object<IssuedCertificateRecord>({
  nodeId: short,
  role: short,
  serial: short,
  issuedAt: epochMs,
  notAfter: epochMs,
  requestedBy: short,
  caDigest: optional(short),
  memberId: optional(short),
});

const serviceTimeouts = {
  drainTimeoutSeconds: optional(uint32),
  tcpIdleTimeoutSeconds: optional(uint32),
  udpIdleTimeoutSeconds: optional(uint32),
} satisfies Fields<Pick<CreateService, 'drainTimeoutSeconds' | 'tcpIdleTimeoutSeconds' | 'udpIdleTimeoutSeconds'>>;

type CommandSchemas = { [T in Command['type']]: Fields<Omit<CommandOf<T>, 'type'>> };

/** One per command type: a command type without a schema does not type-check. */
const schemas: CommandSchemas = {
  initSecurity: {
    security: object<ClusterSecurityRecord>({
      clusterId: short,
      caCertPem: text(MAX_TEXT),
      caKeySealed: text(MAX_TEXT),
      joinSecretsSealed: object<ClusterSecurityRecord['joinSecretsSealed']>({ worker: short, manager: short }),
      certValiditySeconds: integer(0, Number.MAX_SAFE_INTEGER),
      rotation: optional(object<RootRotationRecord>({ previousCaCertPem: text(MAX_TEXT), crossSignedCaPem: text(MAX_TEXT) })),
      unlockKeySealed: optional(short),
    }),
  },
  rotateJoinSecret: { role: oneOf('worker', 'manager'), sealedSecret: short },
  setAutolock: { unlockKeySealed: optional(short) },
  createNetwork: {
    id: short,
    name: short,
    driver: short,
    subnet: optional(short),
    gateway: optional(short),
    ipRange: optional(short),
    ipam: optional(bounded(ipamEntry, LIMITS.subnetsPerNetwork, 'network')),
    internal: optional(flag),
    attachable: optional(flag),
    mtu: optional(uint32),
    labels: optional(stringMap),
    vni: optional(uint32),
    node: optional(short),
    parent: optional(short),
    options: optional(stringMap),
  },
  removeNetwork: { network: short },
  registerNode: {
    id: short,
    name: short,
    advertiseAddr: short,
    gatewaySubnet: optional(short),
    reservedPorts: optional(bounded(reservedPort, LIMITS.reservedPortsPerNode, 'node')),
    interfaces: optional(bounded(hostInterface, LIMITS.interfacesPerNode, 'node')),
    linkKinds: optional(bounded(short, LIMITS.linkKindsPerNode, 'node')),
    ephemeralPortFirst: optional(uint32),
    ephemeralPortLast: optional(uint32),
  },
  updateNode: { node: short, availability: optional(short), labelAdd: optional(stringMap), labelRm: optional(list(short)) },
  setNodeGossipKey: { nodeId: short, publicKey: short },
  removeNode: { node: short, revoke: optional(object<Revocation>(revocation)) },
  revokeNode: { nodeId: short, ...revocation },
  recordCertificate: { certificate: issuedCertificate },
  rotateRootCa: { caCertPem: text(MAX_TEXT), caKeySealed: text(MAX_TEXT), crossSignedCaPem: text(MAX_TEXT) },
  finishRootRotation: { caCertPem: text(MAX_TEXT) },
  createSandbox: { id: short, name: short, node: short, netns: optional(short), networkMode: optional(short), netnsFrom: optional(short) },
  removeSandbox: { sandbox: short, at: optional(drainStart) },
  connect: {
    endpointId: short,
    network: short,
    sandbox: short,
    ip: optional(short),
    aliases: bounded(short, LIMITS.aliases, 'endpoint'),
    mac: optional(short),
    hostname: optional(short),
    extraHosts: optional(bounded(short, LIMITS.extraHosts, 'endpoint')),
    dns: optional(bounded(short, LIMITS.dns, 'endpoint')),
    service: optional(short),
    publishedPorts: optional(bounded(publishedPort, LIMITS.publishedPorts, 'endpoint')),
    publishAll: optional(flag),
    exposedPorts: optional(bounded(exposedPort, LIMITS.exposedPorts, 'endpoint')),
    avoidHostPorts: optional(list(exposedPort)),
  },
  disconnect: { network: short, sandbox: short, force: optional(flag), at: optional(drainStart) },
  finishDrain: { endpointIds: list(short), at: epochMs },
  createService: {
    id: short,
    name: short,
    networks: bounded(short, LIMITS.networksPerService, 'service'),
    endpointMode: optional(short),
    ports: optional(bounded(servicePort, LIMITS.portsPerService, 'service')),
    labels: optional(stringMap),
    ...serviceTimeouts,
  },
  updateService: {
    service: short,
    publishAdd: optional(bounded(servicePort, LIMITS.portsPerService, 'service')),
    publishRm: optional(bounded(servicePort, LIMITS.portsPerService, 'service')),
    ...serviceTimeouts,
  },
  removeService: { service: short },
  setDefaultAddressPools: { pools: list(object<AddressPoolRecord>({ base: short, size: uint32 })) },
};

/** A Map, so that no key of Object.prototype passes for a command type. */
const specsByType = new Map(Object.entries(schemas).map(([type, fields]) => [type, fieldSpecs(fields)]));

/**
 * A decoded command, checked against its type's schema: the command itself, or
 * INVALID_ARGUMENT naming the first field at fault (message `ipam[1].gateway: …`).
 */
export function checkCommand(value: unknown): Result<Command> {
  if (!isObject(value)) return refuse('command', `give a JSON object with a "type", like {"type":"removeNetwork","network":"web"}; got ${describe(value)}`);
  const type = own(value, 'type');
  const specs = typeof type === 'string' ? specsByType.get(type) : undefined;
  if (!specs) {
    return refuse('type', `${describe(type)} is not a command this manager knows (${Object.keys(schemas).join(', ')}); a newer manager may have sent it: upgrade this one`);
  }
  const checked = checkFields(specs, value, '');
  return checked.ok ? ok(checked.value as Command) : checked;
}
