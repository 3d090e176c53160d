import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from '../proto/runtime/private-files';
import { replaceFile } from './name-ledger';

export const OWNER_TAG_FILE = 'owner-tag';

/**
 * The tag that marks the kernel objects this agent owns (its network namespaces' names, the tag
 * written into its sandboxes' namespaces): agents sharing a machine, as in the lab, share
 * /run/netns and must only ever remove their own. It used to be the advertise address, which an
 * agent restarted with another --advertise-addr would change, leaving everything it had made as
 * someone else's leftovers. It is now kept in the state directory: the first start records its
 * advertise address (what earlier versions used, so an upgrade finds its own objects), and every
 * later start keeps that tag wherever the node moves.
 */
export function ownerTag(stateDir: string, advertiseAddr: string): string {
  const path = join(stateDir, OWNER_TAG_FILE);
  try {
    const kept = readFileSync(path, 'utf8').trim();
    if (kept !== '') return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  replaceFile(path, `${advertiseAddr}\n`, PRIVATE_FILE_MODE);
  return advertiseAddr;
}
