import { open, type FileHandle } from 'node:fs/promises';

/** Makes a created, renamed or removed directory entry durable; without it a crash can undo the change. */
export async function syncDirectory(dir: string): Promise<void> {
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** Writes all of `data` at `position` (a single write may be short). */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  for (let written = 0; written < data.length; ) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}
