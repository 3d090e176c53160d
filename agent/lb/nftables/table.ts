import type { LbProtocol } from '../model';

/**
 * The content of the `trellis_lb` table, as plan compares it: the same shape whether read back
 * from the kernel or built from what the namespace must balance. Rules are nft statements as the
 * agent writes them (see rules.ts), so a rule reads back as the very text that wrote it.
 */
export interface TableContent {
  /** The output base chain's rules; undefined when the chain is missing. */
  outputRules: readonly string[] | undefined;
  /** VIP → the chain it jumps to; undefined when the map is missing. */
  services: ReadonlyMap<string, string> | undefined;
  /** Backends map name → the accepting backends (observed: index → address; desired: the addresses). */
  backendMaps: ReadonlyMap<string, ReadonlyMap<number, string>>;
  drainingSets: ReadonlyMap<string, ReadonlySet<string>>;
  /** Regular chain name → its rules. */
  chains: ReadonlyMap<string, readonly string[]>;
  /** ct timeout object name → "protocol state seconds". */
  timeouts: ReadonlyMap<string, string>;
}

/** What the kernel holds; `misshapen` names objects only a rebuild repairs (a map of another type, a chain with a hook). */
export interface ObservedTable extends TableContent {
  misshapen: readonly string[];
}

export type ObservedLb = { readonly kind: 'table'; readonly table: ObservedTable } | { readonly kind: 'unreadable'; readonly reason: string };

/** What must be there; indices of backends are chosen by plan, keeping those already in place. */
export interface DesiredTable extends Omit<TableContent, 'backendMaps'> {
  outputRules: readonly string[];
  services: ReadonlyMap<string, string>;
  backendMaps: ReadonlyMap<string, readonly string[]>;
}

/** The idle-timeout policy nft reports for a protocol (one state each: the one of an established flow). */
export const TIMEOUT_STATE: Record<LbProtocol, string> = { tcp: 'established', udp: 'replied' };
/** nft leaves out a policy equal to these, so a timeout equal to one is no object at all: the default applies. */
export const DEFAULT_TIMEOUT_SECONDS: Record<LbProtocol, number> = { tcp: 432_000, udp: 120 };

export const timeoutPolicy = (protocol: LbProtocol, seconds: number): string => `${protocol} ${TIMEOUT_STATE[protocol]} ${seconds}`;
