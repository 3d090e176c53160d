import type { DesiredFirewall } from './model';
import { renderTable } from './render';

/**
 * Declaring the table first makes the delete valid whether or not it exists, and `nft -f` runs
 * the file as one transaction: the host never sees the table missing or half written.
 */
function dropTable(table: string): string {
  return `table ip ${table}\ndelete table ip ${table}\n`;
}

/** Input for `nft -f -` that creates the table or replaces it whole, atomically. */
export function replaceScript(firewall: DesiredFirewall): string {
  return dropTable(firewall.table) + renderTable(firewall);
}

/** Input for `nft -f -` that deletes the table; succeeds when it is already gone. */
export function deleteScript(table: string): string {
  return dropTable(table);
}
