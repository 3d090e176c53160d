import { deleteScript } from '../../firewall';
import type { FlowMatch } from '../../native/conntrack-in-namespace';
import type { NamespaceBalancing } from '../model';
import { desiredTable } from './desired';
import { emptyTable } from './listing';
import { LB_TABLE, OUTPUT_CHAIN, SERVICES_MAP, backendsMap, baseOfChainName, drainingSet } from './names';
import * as nft from './statements';
import type { DesiredTable, ObservedLb, ObservedTable } from './table';

/** What one namespace needs: at most one nft transaction, then the flows of backends that left cleared. */
export interface NftLbChange {
  netns: string;
  /** Input for `nft -f`: one transaction, so a client never meets a half-written service. */
  transaction: string;
  /** Flows cleared after the transaction (none: nothing to clear): those to backends that left, by VIP and backend. */
  clearFlows: FlowMatch[];
  /** 'rebuild': the table was (re)written whole, because it was missing, or misshapen so that only that repairs it. */
  kind: 'update' | 'rebuild' | 'delete';
}

const EMPTY: ObservedTable = emptyTable();

const sameList = (a: readonly string[] | undefined, b: readonly string[]): boolean => a !== undefined && a.length === b.length && a.every((item, index) => item === b[index]);

/**
 * Places the accepting backends at indices 0..N-1 of the map, keeping every backend that is
 * already inside that range where it is: one backend joining or leaving moves at most one
 * other, so the change is a few elements and not a rewrite of a thousand.
 */
function backendSlots(observed: ReadonlyMap<number, string>, accepting: readonly string[]): { remove: number[]; add: [number, string][] } {
  const wanted = new Set(accepting);
  const kept = new Set<string>();
  const free: number[] = [];
  const remove: number[] = [];
  for (let index = 0; index < accepting.length; index += 1) {
    const address = observed.get(index);
    if (address !== undefined && wanted.has(address) && !kept.has(address)) {
      kept.add(address);
      continue;
    }
    free.push(index);
    if (address !== undefined) remove.push(index);
  }
  for (const index of observed.keys()) if (index >= accepting.length) remove.push(index);
  const placed = accepting.filter((address) => !kept.has(address));
  return { remove, add: placed.map((address, at) => [free[at] ?? NaN, address]) };
}

/** Statements taking `observed` to `desired`, in an order nft accepts in one transaction: what is referenced exists first, and goes last. */
function statements(desired: DesiredTable, observed: ObservedTable): string[] {
  const lines: string[] = [];
  if (observed.services === undefined) lines.push(nft.addServicesMap());
  if (observed.outputRules === undefined) lines.push(nft.addOutputChain());
  if (!sameList(observed.outputRules, desired.outputRules)) {
    if (observed.outputRules !== undefined) lines.push(nft.flushChain(OUTPUT_CHAIN));
    lines.push(...desired.outputRules.map((rule) => nft.addRule(OUTPUT_CHAIN, rule)));
  }
  // One with another policy makes plan rebuild the table instead (see misshapenTimeouts).
  for (const [name, policy] of desired.timeouts) if (!observed.timeouts.has(name)) lines.push(nft.addTimeout(name, policy));
  for (const [name, accepting] of desired.backendMaps) {
    const present = observed.backendMaps.get(name);
    if (present === undefined) lines.push(nft.addBackendsMap(name));
    const { remove, add } = backendSlots(present ?? new Map(), accepting);
    lines.push(...nft.deleteElements(name, remove.map(String)), ...nft.addElements(name, add.map(([index, address]) => `${index} : ${address}`)));
  }
  for (const [name, draining] of desired.drainingSets) {
    const present = observed.drainingSets.get(name);
    if (present === undefined) lines.push(nft.addDrainingSet(name));
    lines.push(...nft.deleteElements(name, [...(present ?? [])].filter((address) => !draining.has(address))));
    lines.push(...nft.addElements(name, [...draining].filter((address) => !present?.has(address))));
  }
  for (const [name, rules] of desired.chains) {
    const present = observed.chains.get(name);
    if (sameList(present, rules)) continue;
    lines.push(present === undefined ? nft.addChain(name) : nft.flushChain(name), ...rules.map((rule) => nft.addRule(name, rule)));
  }
  const services = observed.services ?? new Map<string, string>();
  const stale = [...services].filter(([element, chain]) => desired.services.get(element) !== chain).map(([element]) => element);
  const fresh = [...desired.services].filter(([element, chain]) => services.get(element) !== chain).map(([element, chain]) => `${element} : goto ${chain}`);
  lines.push(...nft.deleteElements(SERVICES_MAP, stale), ...nft.addElements(SERVICES_MAP, fresh));
  for (const name of observed.chains.keys()) if (!desired.chains.has(name)) lines.push(nft.flushChain(name), nft.deleteObject('chain', name));
  for (const name of observed.backendMaps.keys()) if (!desired.backendMaps.has(name)) lines.push(nft.deleteObject('map', name));
  for (const name of observed.drainingSets.keys()) if (!desired.drainingSets.has(name)) lines.push(nft.deleteObject('set', name));
  for (const name of observed.timeouts.keys()) if (!desired.timeouts.has(name)) lines.push(nft.deleteObject('ct timeout', name));
  return lines;
}

/**
 * The flows to clear: those of every backend the table held (accepting or draining)
 * that no longer stands behind the VIP its flows went to. Flows are found by that VIP and the
 * backend that answers them; a VIP gone altogether is cleared by the VIP alone (one match, not
 * one per backend).
 */
function flowsToClear(desired: DesiredTable, observed: ObservedTable): FlowMatch[] {
  const backendsOf = (table: DesiredTable | ObservedTable, bases: Iterable<string>): Set<string> => {
    const backends = new Set<string>();
    for (const base of bases) {
      const map = table.backendMaps.get(backendsMap(base)) ?? [];
      for (const address of Array.isArray(map) ? map : map.values()) backends.add(address);
      for (const address of table.drainingSets.get(drainingSet(base)) ?? []) backends.add(address);
    }
    return backends;
  };
  const byVip = (services: ReadonlyMap<string, string>): Map<string, Set<string>> => {
    const bases = new Map<string, Set<string>>();
    for (const [vip, chain] of services) {
      const base = baseOfChainName(chain);
      if (base !== undefined) bases.set(vip, (bases.get(vip) ?? new Set()).add(base));
    }
    return bases;
  };
  const desiredVips = byVip(desired.services);
  const flows: FlowMatch[] = [];
  for (const [vip, bases] of byVip(observed.services ?? new Map())) {
    const stillBehind = desiredVips.get(vip);
    if (stillBehind === undefined) {
      flows.push({ vip });
      continue;
    }
    const kept = backendsOf(desired, stillBehind);
    for (const backend of backendsOf(observed, bases)) if (!kept.has(backend)) flows.push({ vip, backend });
  }
  return flows;
}

/** The timeout objects that exist with another policy: ct timeouts cannot be changed in place while rules use them. */
function misshapenTimeouts(desired: DesiredTable, observed: ObservedTable): boolean {
  return [...desired.timeouts].some(([name, policy]) => observed.timeouts.has(name) && observed.timeouts.get(name) !== policy);
}

function planNamespace(balancing: NamespaceBalancing, observed: ObservedLb | undefined): NftLbChange | undefined {
  if (observed?.kind === 'unreadable') return undefined;
  const desired = desiredTable(balancing.services);
  const table = observed?.table;
  if (balancing.services.length === 0) {
    if (table === undefined) return undefined;
    return { netns: balancing.netns, transaction: deleteScript(LB_TABLE), clearFlows: flowsToClear(desired, table), kind: 'delete' };
  }
  if (table === undefined || table.misshapen.length > 0 || misshapenTimeouts(desired, table)) {
    const rebuild = rebuildScript(desired, table !== undefined);
    return { netns: balancing.netns, transaction: rebuild, clearFlows: table === undefined ? [] : flowsToClear(desired, table), kind: 'rebuild' };
  }
  const lines = statements(desired, table);
  if (lines.length === 0) return undefined;
  return { netns: balancing.netns, transaction: lines.map((line) => `${line}\n`).join(''), clearFlows: flowsToClear(desired, table), kind: 'update' };
}

/** The whole table written from nothing, replacing any table there in the same transaction. */
function rebuildScript(desired: DesiredTable, replacing: boolean): string {
  const lines = [nft.addTable(), ...statements(desired, EMPTY)].map((line) => `${line}\n`).join('');
  return (replacing ? deleteScript(LB_TABLE) : '') + lines;
}

/**
 * The changes that make each desired namespace's table what it must be; none where it already is.
 * Acts on the namespaces in `desired` only (one that must be cleaned lists no services), and
 * leaves one it could not read alone.
 */
export function planBalancing(desired: readonly NamespaceBalancing[], observed: ReadonlyMap<string, ObservedLb>): NftLbChange[] {
  return desired.map((balancing) => planNamespace(balancing, observed.get(balancing.netns))).filter((change): change is NftLbChange => change !== undefined);
}

/** The table of `services` written whole, as a rebuild would: what the bench compares an update against. */
export function rebuildTransaction(services: NamespaceBalancing['services']): string {
  return rebuildScript(desiredTable(services), true);
}
