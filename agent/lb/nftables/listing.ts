import { LB_TABLE, OUTPUT_CHAIN, SERVICES_MAP } from './names';
import { ruleText } from './rules';
import type { ObservedTable } from './table';

/**
 * Reading `nft -j list table ip trellis_lb` into the table's content. Anything of a shape the
 * agent never writes (a map of another type, a hook on a service chain, a flowtable) is named in
 * `misshapen`; anything of the right shape but other content is just content, which plan repairs.
 */

type Json = unknown;
type Record_ = Record<string, Json>;

const isRecord = (value: Json): value is Record_ => typeof value === 'object' && value !== null && !Array.isArray(value);
const elements = (object: Record_): Json[] => (Array.isArray(object['elem']) ? object['elem'] : []);
const sameJson = (a: Json, b: Json): boolean => JSON.stringify(a) === JSON.stringify(b);

const OUTPUT_HOOK = { type: 'nat', hook: 'output', prio: -100, policy: 'accept' };

interface Building {
  outputRules: string[] | undefined;
  services: Map<string, string> | undefined;
  backendMaps: Map<string, Map<number, string>>;
  drainingSets: Map<string, Set<string>>;
  chains: Map<string, string[]>;
  timeouts: Map<string, string>;
  misshapen: string[];
}

/** A table with nothing in it, not even the base chain and map. */
export function emptyTable(): Building {
  return { outputRules: undefined, services: undefined, backendMaps: new Map(), drainingSets: new Map(), chains: new Map(), timeouts: new Map(), misshapen: [] };
}

function readMap(map: Record_, name: string, table: Building): void {
  if (name === SERVICES_MAP) {
    // An older agent's map by VIP . protocol . port has another type: the table is rebuilt.
    if (map['type'] !== 'ipv4_addr' || map['map'] !== 'verdict') return void table.misshapen.push(`map ${name}`);
    table.services = new Map();
    for (const element of elements(map)) {
      const [vip, verdict] = Array.isArray(element) ? element : [];
      const target = isRecord(verdict) && isRecord(verdict['goto']) ? verdict['goto']['target'] : undefined;
      // An element of any other shape cannot be rewritten by key: the table is rebuilt.
      if (typeof vip !== 'string' || typeof target !== 'string') return void table.misshapen.push(`map ${name} element ${JSON.stringify(element)}`);
      table.services.set(vip, target);
    }
    return;
  }
  if (map['type'] !== 'integer' || map['map'] !== 'ipv4_addr') return void table.misshapen.push(`map ${name}`);
  const backends = new Map<number, string>();
  for (const element of elements(map)) {
    const [index, address] = Array.isArray(element) ? element : [];
    if (typeof index !== 'number' || typeof address !== 'string') return void table.misshapen.push(`map ${name} element ${JSON.stringify(element)}`);
    backends.set(index, address);
  }
  table.backendMaps.set(name, backends);
}

function readSet(set: Record_, name: string, table: Building): void {
  const members = elements(set);
  if (set['type'] !== 'ipv4_addr' || set['flags'] !== undefined || !members.every((member) => typeof member === 'string')) {
    return void table.misshapen.push(`set ${name}`);
  }
  table.drainingSets.set(name, new Set(members.map(String)));
}

function readChain(chain: Record_, name: string, table: Building): void {
  if (name === OUTPUT_CHAIN) {
    const hook = { type: chain['type'], hook: chain['hook'], prio: chain['prio'], policy: chain['policy'] };
    if (!sameJson(hook, OUTPUT_HOOK)) return void table.misshapen.push(`chain ${name}`);
    table.outputRules = [];
  } else if (chain['hook'] !== undefined) {
    return void table.misshapen.push(`chain ${name}`);
  } else {
    table.chains.set(name, []);
  }
}

function readTimeout(timeout: Record_, name: string, table: Building): void {
  const protocol = timeout['protocol'];
  const policy = isRecord(timeout['policy']) ? Object.entries(timeout['policy']) : [];
  if (typeof protocol !== 'string' || timeout['l3proto'] !== 'ip') return void table.misshapen.push(`ct timeout ${name}`);
  // nft prints no policy equal to its default: such an object is "policy default", no object of ours.
  table.timeouts.set(name, policy.map(([state, seconds]) => `${protocol} ${state} ${String(seconds)}`).join(', ') || `${protocol} default`);
}

/** The table from `nft -j list table ip trellis_lb` output. */
export function parseListing(json: string): ObservedTable {
  const table = emptyTable();
  const listing = JSON.parse(json) as Json;
  const objects = isRecord(listing) && Array.isArray(listing['nftables']) ? listing['nftables'] : [];
  // Rules come after every chain in nft's output, but nothing here depends on that order.
  const rules: Record_[] = [];
  for (const object of objects) {
    if (!isRecord(object)) continue;
    const [kind, body] = Object.entries(object)[0] ?? [];
    if (!isRecord(body) || kind === 'metainfo' || kind === 'table') continue;
    const name = typeof body['name'] === 'string' ? body['name'] : '';
    if (body['table'] !== LB_TABLE) continue;
    if (kind === 'map') readMap(body, name, table);
    else if (kind === 'set') readSet(body, name, table);
    else if (kind === 'chain') readChain(body, name, table);
    else if (kind === 'ct timeout') readTimeout(body, name, table);
    else if (kind === 'rule') rules.push(body);
    else table.misshapen.push(`${kind} ${name}`);
  }
  for (const rule of rules) {
    const chain = rule['chain'];
    const list = chain === OUTPUT_CHAIN ? table.outputRules : typeof chain === 'string' ? table.chains.get(chain) : undefined;
    list?.push(ruleText(rule['expr']));
  }
  return table;
}
