/**
 * Fast-check arbitraries for the fuzzed requests' fields. A field is generated as a function of
 * the objects that exist when the request is sent, so a reference can name a live object (by name
 * or id) although the whole sequence is drawn up front from one seed.
 */
import fc from 'fast-check';

/** The objects of the store, as the last look at it saw them. */
export interface Known {
  networks: Named[];
  sandboxes: Named[];
  services: Named[];
  nodes: Named[];
  managers: Array<{ id: string }>;
  /** network and sandbox names of every endpoint */
  connections: Array<{ network: string; sandbox: string }>;
}

export interface Named {
  id: string;
  name: string;
}

export type Gen<T> = fc.Arbitrary<(known: Known) => T>;

export function fixed<T>(arbitrary: fc.Arbitrary<T>): Gen<T> {
  return arbitrary.map((value) => () => value);
}

/** A record of generated fields, resolved together. */
export function record<T extends object>(fields: { [K in keyof T]: Gen<T[K]> }): Gen<T> {
  return fc.record<{ [K in keyof T]: (known: Known) => T[K] }>(fields).map((makers) => (known: Known) => {
    const entries = Object.entries(makers) as Array<[string, (known: Known) => unknown]>;
    return Object.fromEntries(entries.map(([key, make]) => [key, make(known)])) as T;
  });
}

/** Mostly a few items, sometimes none, now and then a huge list (tens of thousands). */
export function list<T>(item: Gen<T>, hugeItem: fc.Arbitrary<T>): Gen<T[]> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.array(item, { maxLength: 4 }).map((makers) => (known: Known) => makers.map((make) => make(known))) },
    { weight: 1, arbitrary: fixed(fc.integer({ min: 1_000, max: 60_000 }).chain((n) => fc.array(hugeItem, { minLength: n, maxLength: n }))) },
  );
}

/** A string map (proto map<string,string>) with edge keys, built so that "__proto__" is an own key. */
export function stringMap(value: Gen<string>): Gen<Record<string, string>> {
  const key = fc.oneof(
    { weight: 6, arbitrary: fixed(fc.constantFrom('env', 'team', 'a.b/c', 'com.example.tier')) },
    { weight: 2, arbitrary: fixed(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf')) },
    { weight: 4, arbitrary: wildString },
  );
  return fc.oneof(
    { weight: 30, arbitrary: fc.array(fc.tuple(key, value), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => [() => `k${i}`, () => 'v'] as [(k: Known) => string, (k: Known) => string])) },
  ).map((pairs) => (known: Known) => Object.fromEntries(pairs.map(([k, v]) => [k(known), v(known)])));
}

const ascii = fc.string({ maxLength: 16 });
const unicode = fc.string({ unit: 'binary', maxLength: 24 });
const control = fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 8 });
/** Up to 1 MiB, in one- or two-byte characters. */
const huge = fc.tuple(fc.integer({ min: 4_096, max: 1 << 20 }), fc.constantFrom('x', 'é', '\n')).map(([length, unit]) => unit.repeat(length));
const edgeText = fc.constantFrom(' ', '.', '..', '-', '/', '*', '%s', 'null', 'undefined', '0', '-1', 'NaN', 'a'.repeat(64), 'a'.repeat(255), 'a'.repeat(256));

/** Any string at all: empty, short, unicode, control characters, huge, or a classic edge value. */
export const wildString: Gen<string> = fc.oneof(
  { weight: 4, arbitrary: fixed(fc.constant('')) },
  { weight: 5, arbitrary: fixed(ascii) },
  { weight: 3, arbitrary: fixed(unicode) },
  { weight: 2, arbitrary: fixed(control) },
  { weight: 3, arbitrary: fixed(edgeText) },
  { weight: 1, arbitrary: fixed(huge) },
);

/** A field value: usually one of the plausible ones given, else anything. */
export function field(...plausible: Array<fc.Arbitrary<string>>): Gen<string> {
  return fc.oneof({ weight: 3, arbitrary: fixed(fc.oneof(...plausible)) }, { weight: 1, arbitrary: wildString });
}

type Kind = 'networks' | 'sandboxes' | 'services' | 'nodes';

/** An existing object of `kind`, by name or by id ('' when there is none). */
export function existing(kind: Kind): Gen<string> {
  return fc.tuple(fc.nat(), fc.boolean()).map(([index, byId]) => (known: Known) => {
    const objects = known[kind];
    const object = objects[index % Math.max(1, objects.length)];
    return object === undefined ? '' : byId ? object.id : object.name;
  });
}

/** An existing endpoint's network and sandbox (empty names when there is none). */
export const connection: Gen<{ network: string; sandbox: string }> = fc.nat().map((index) => (known: Known) => {
  return known.connections[index % Math.max(1, known.connections.length)] ?? { network: '', sandbox: '' };
});

/** A reference to an object of `kind`: an existing one by name or id, a name from the pool, or one that does not exist. */
export function reference(kind: Kind, pool: fc.Arbitrary<string>): Gen<string> {
  return fc.oneof(
    { weight: 6, arbitrary: existing(kind) },
    { weight: 3, arbitrary: fixed(pool) },
    { weight: 1, arbitrary: fixed(fc.constantFrom('missing', '0123456789abcdef0123456789abcdef')) },
    { weight: 2, arbitrary: wildString },
  );
}

/** A uint32 on the wire: edges of every width the API uses, small values, and anything up to 2³² − 1. */
export const uint32: Gen<number> = fixed(
  fc.oneof(
    fc.constantFrom(0, 1, 22, 80, 1023, 1024, 4095, 4096, 4789, 65535, 65536, 16_777_215, 16_777_216, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1),
    fc.nat({ max: 65_535 }),
    fc.nat({ max: 2 ** 32 - 1 }),
  ),
);

export const bool: Gen<boolean> = fixed(fc.boolean());

export const octet = fc.nat({ max: 255 });
export const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
/** Mostly 10.x.y.0/24 (valid and distinct), with edge subnets the audit names. */
export const subnet = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(octet, octet).map(([a, b]) => `10.${a}.${b}.0/24`) },
  { weight: 2, arbitrary: fc.tuple(ipv4, fc.nat({ max: 32 })).map(([ip, length]) => `${ip}/${length}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('0.0.0.0/0', '0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4', '10.1.2.3/24', '10.0.0.0/33', 'fe80::/64', '10.0.0.0/-1', '10.0.0.0'),
  },
);
export const mac = fc.array(octet, { minLength: 6, maxLength: 6 }).map((bytes) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':'));
export const protocol = fc.constantFrom('tcp', 'udp', '', 'sctp', 'TCP');

export function pool(prefix: string, size: number): fc.Arbitrary<string> {
  return fc.nat({ max: size - 1 }).map((i) => `${prefix}${i}`);
}
