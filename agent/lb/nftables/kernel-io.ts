import { existsSync } from 'node:fs';
import { netnsRunPath } from '../../kernel';
import { isMissingTableError } from '../../firewall';
import { ConntrackSession } from '../../native/conntrack-in-namespace';
import { inSlices } from '../../native/in-slices';
import { NFT_JSON_OUTPUT, NftSession } from '../../native/nftables-in-namespace';
import { parseListing } from './listing';
import { LB_TABLE } from './names';
import type { NftLbChange } from './plan';
import type { ObservedLb } from './table';

/**
 * The kernel as the nftables balancer reads and writes it, behind which plan stays pure. The
 * default reaches each namespace in-process (setns and libnftables, ctnetlink for flows): a
 * namespace costs a fraction of a millisecond instead of an nsenter and an nft process.
 */
export interface NftLbKernel {
  /** Each namespace's table; no entry: no table, or no such namespace. */
  readTables(netns: readonly string[]): Promise<Map<string, ObservedLb>>;
  /** Applies every change; the failures by namespace (each with nft's or ctnetlink's complaint). Every namespace is tried. */
  applyChanges(changes: readonly NftLbChange[]): Promise<Map<string, string>>;
}

const LIST_TABLE = `list table ip ${LB_TABLE}`;
const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function readTables(netns: readonly string[]): Promise<Map<string, ObservedLb>> {
  const tables = new Map<string, ObservedLb>();
  const session = new NftSession();
  try {
    await inSlices(netns, (name) => {
      const path = netnsRunPath(name);
      if (!existsSync(path)) return;
      let listed;
      try {
        listed = session.run(path, LIST_TABLE, NFT_JSON_OUTPUT);
      } catch (error) {
        return void tables.set(name, { kind: 'unreadable', reason: reason(error) });
      }
      if (!listed.ok) {
        if (!isMissingTableError(listed.error)) tables.set(name, { kind: 'unreadable', reason: listed.error.trim() });
        return;
      }
      try {
        // The listing is one line of JSON; a warning beside it is not part of it.
        tables.set(name, { kind: 'table', table: parseListing(listed.output.split('\n').find((line) => line.startsWith('{')) ?? '') });
      } catch (error) {
        tables.set(name, { kind: 'unreadable', reason: `unreadable listing: ${reason(error)}` });
      }
    });
  } finally {
    session.close();
  }
  return tables;
}

/** Each change: its nft transaction, then (only if that succeeded) the flows of backends that left cleared. */
async function applyChanges(changes: readonly NftLbChange[]): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  const nft = new NftSession();
  const flows = new ConntrackSession();
  try {
    await inSlices(changes, (change) => {
      const path = netnsRunPath(change.netns);
      try {
        const written = nft.run(path, change.transaction);
        if (!written.ok) return void failures.set(change.netns, `nft: ${written.error.trim()}`);
      } catch (error) {
        return void failures.set(change.netns, reason(error));
      }
      try {
        flows.deleteFlows(path, change.clearFlows);
      } catch (error) {
        failures.set(change.netns, `conntrack: ${reason(error)}`);
      }
    });
  } finally {
    nft.close();
    flows.close();
  }
  return failures;
}

export const nativeNftLbKernel: NftLbKernel = { readTables, applyChanges };
