import { LB_TABLE, OUTPUT_CHAIN, SERVICES_MAP } from './names';
import { TIMEOUT_STATE } from './table';
import type { LbProtocol } from '../model';

/** nft statements on the table, one line each, for one `nft -f` transaction. */

const on = `ip ${LB_TABLE}`;

export const addTable = (): string => `add table ${on}`;
export const addServicesMap = (): string => `add map ${on} ${SERVICES_MAP} { type ipv4_addr : verdict; }`;
export const addOutputChain = (): string => `add chain ${on} ${OUTPUT_CHAIN} { type nat hook output priority -100; policy accept; }`;
export const addBackendsMap = (name: string): string => `add map ${on} ${name} { typeof numgen random mod 2 : ip daddr; }`;
export const addDrainingSet = (name: string): string => `add set ${on} ${name} { type ipv4_addr; }`;
export const addChain = (name: string): string => `add chain ${on} ${name}`;
export const flushChain = (name: string): string => `flush chain ${on} ${name}`;
export const addRule = (chain: string, rule: string): string => `add rule ${on} ${chain} ${rule}`;

export function addTimeout(name: string, policy: string): string {
  const [protocol, , seconds] = policy.split(' ') as [LbProtocol, string, string];
  return `add ct timeout ${on} ${name} { protocol ${protocol}; l3proto ip; policy = { ${TIMEOUT_STATE[protocol]}: ${seconds} }; }`;
}

/** Elements in batches: one statement of 100,000 elements is more than nft's parser likes at once. */
function elementStatements(verb: 'add' | 'delete', set: string, items: readonly string[]): string[] {
  const statements: string[] = [];
  for (let start = 0; start < items.length; start += 1000) statements.push(`${verb} element ${on} ${set} { ${items.slice(start, start + 1000).join(', ')} }`);
  return statements;
}
export const addElements = (set: string, items: readonly string[]): string[] => elementStatements('add', set, items);
export const deleteElements = (set: string, items: readonly string[]): string[] => elementStatements('delete', set, items);

export const deleteObject = (kind: 'chain' | 'map' | 'set' | 'ct timeout', name: string): string => `delete ${kind} ${on} ${name}`;
