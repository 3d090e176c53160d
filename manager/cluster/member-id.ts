import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';
import { newId } from '../ids';

const fileName = 'member-id';

/**
 * This manager's Raft id: made once for a data directory and kept with it. A manager
 * that joined passes its certificate's node id, so that removing the member by its id
 * revokes the certificate it holds (managers made before that have ids of their own).
 */
export async function memberId(dataDir: string, certificateNodeId?: string): Promise<string> {
  const path = join(dataDir, fileName);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const id = certificateNodeId ?? newId();
  const file = await open(path, 'wx', PRIVATE_FILE_MODE);
  try {
    await file.writeFile(id + '\n');
    await file.sync();
  } finally {
    await file.close();
  }
  return id;
}
